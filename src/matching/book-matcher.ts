import type { MatchCache } from './match-cache.js';

/** A KOReader document matched to a book of the Calibre library. */
export interface BookMatch {
  bookId: number;
  title: string;
  /** Upper-case format, e.g. EPUB. */
  format: string;
  /** The checksum algorithm tag, e.g. `koreader` (CWA's `book_format_checksums.version`). */
  checksumVersion: string;
}

/** What KOReader optionally sends with a PUT (`metadata`: filename, title, authors). */
export interface DocumentHints {
  filename?: string;
  title?: string;
  authors?: string;
}

/** Finds the library book behind a document id; sources are asked in order, first answer wins. */
export interface BookSource {
  match(document: string, hints?: DocumentHints): BookMatch | undefined;
  /** Every document id this source knows for the book and format (the files of one book). */
  documentsOf(bookId: number, format: string): string[];
}

export interface BookMatcherOptions {
  /** Told about a document no source matched (the checksum index refreshes, rate-limited). */
  onMiss?: (document: string) => void;
  /** Matches and document lists of earlier lookups, valid while the library and index are unchanged. */
  cache?: MatchCache;
}

/** A pull's lookups under one cache check: the document's book, and the documents of that book. */
export interface MatchLookup {
  match: BookMatch | undefined;
  /** Every document id of the matched book and format; call it right away (same cache check). */
  documents(): string[];
}

export class BookMatcher {
  constructor(
    private readonly sources: readonly BookSource[],
    private readonly options: BookMatcherOptions = {},
  ) {}

  match(document: string, hints?: DocumentHints): BookMatch | undefined {
    return this.matchWith(this.cacheUsable(), document, hints);
  }

  documentsOf(bookId: number, format: string): string[] {
    return this.documentsWith(this.cacheUsable(), bookId, format);
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

  // A cached match is what the chain would answer, hints or not: only the last source reads hints,
  // and its answers are recorded in the index, which moves the cache's version.
  private matchWith(cache: MatchCache | undefined, document: string, hints?: DocumentHints): BookMatch | undefined {
    const cached = cache?.match(document);
    if (cached) return cached;
    for (const source of this.sources) {
      const found = source.match(document, hints);
      if (found) {
        cache?.rememberMatch(document, found);
        return found;
      }
    }
    this.options.onMiss?.(document);
    return undefined;
  }

  private documentsWith(cache: MatchCache | undefined, bookId: number, format: string): string[] {
    const cached = cache?.documentsOf(bookId, format);
    if (cached) return cached;
    const documents = [...new Set(this.sources.flatMap((s) => s.documentsOf(bookId, format)))];
    cache?.rememberDocuments(bookId, format, documents);
    return documents;
  }
}
