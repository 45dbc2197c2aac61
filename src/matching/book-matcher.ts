import type { MatchCache } from './match-cache.js';

/** Which source matched a document: CWA's table, the index's partial MD5s or file names, or KOReader's metadata. */
export type MatchSource = 'cwa' | 'binary' | 'filename' | 'metadata';

/** A KOReader document matched to a book of the Calibre library. */
export interface BookMatch {
  bookId: number;
  title: string;
  /** Upper-case format, e.g. EPUB. */
  format: string;
  /** The checksum algorithm tag, e.g. `koreader` (CWA's `book_format_checksums.version`). */
  checksumVersion: string;
  source: MatchSource;
}

/** What KOReader optionally sends with a PUT (`metadata`: filename, title, authors). */
export interface DocumentHints {
  filename?: string;
  title?: string;
  authors?: string;
}

/**
 * Finds the library book behind a document id from the id alone (and the library's state). Its answers
 * may be cached: they change only when metadata.db or the state DB does.
 */
export interface BookSource {
  match(document: string): BookMatch | undefined;
  /** Every document id this source knows for the book and format (the files of one book). */
  documentsOf(bookId: number, format: string): string[];
}

/** Finds the book from what KOReader says about the file: asked only after every BookSource, never cached. */
export interface HintSource {
  match(document: string, hints: DocumentHints | undefined): BookMatch | undefined;
}

interface BookMatcherOptions {
  /** Asked in order, first answer wins. */
  sources: readonly BookSource[];
  /** Asked in order after the sources, for a document none of them matched. */
  hintSources?: readonly HintSource[];
  /** Told about a document nothing matched (the checksum index refreshes, rate-limited). */
  onMiss?: (document: string) => void;
  /** Matches and document lists of the sources' earlier answers, valid while the library and index are unchanged. */
  cache?: MatchCache;
}

/** A pull's lookups under one cache check: the document's book, and the documents of that book. */
export interface MatchLookup {
  match: BookMatch | undefined;
  /** Every document id of the matched book and format; call it right away (same cache check). */
  documents(): string[];
}

/**
 * The library book behind a document id. The cache holds only what the id sources answered, which
 * depends on nothing but the document and the databases its version covers; a hint source's answer
 * depends on the hints too, so it is never cached. A cached match is therefore exactly what the chain
 * would answer now, with or without hints: the id sources come first.
 */
export class BookMatcher {
  constructor(private readonly options: BookMatcherOptions) {}

  match(document: string, hints?: DocumentHints): BookMatch | undefined {
    return this.matchWith(this.cacheUsable(), document, hints);
  }

  lookup(document: string): MatchLookup {
    const cached = this.cacheUsable();
    const match = this.matchWith(cached, document);
    return { match, documents: () => (match ? this.documentsWith(cached, match.bookId, match.format) : []) };
  }

  private cacheUsable(): MatchCache | undefined {
    const { cache } = this.options;
    return cache?.validate() ? cache : undefined;
  }

  private matchWith(cache: MatchCache | undefined, document: string, hints?: DocumentHints): BookMatch | undefined {
    const cached = cache?.match(document);
    if (cached) return cached;
    for (const source of this.options.sources) {
      const found = source.match(document);
      if (found) {
        cache?.rememberMatch(document, found);
        return found;
      }
    }
    for (const source of this.options.hintSources ?? []) {
      const found = source.match(document, hints);
      if (found) return found;
    }
    this.options.onMiss?.(document);
    return undefined;
  }

  private documentsWith(cache: MatchCache | undefined, bookId: number, format: string): string[] {
    const cached = cache?.documentsOf(bookId, format);
    if (cached) return cached;
    const documents = [...new Set(this.options.sources.flatMap((s) => s.documentsOf(bookId, format)))];
    cache?.rememberDocuments(bookId, format, documents);
    return documents;
  }
}
