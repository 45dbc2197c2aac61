import type { MatchCache } from './match-cache.js';

/**
 * Which source matched a document: CWA's table, the index's partial MD5s of library files or of files
 * Calibre-Web served, file names, KOReader's metadata (now, or an alias of this user learnt before), or
 * the reader's own link.
 */
export type MatchSource = 'cwa' | 'binary' | 'download' | 'filename' | 'metadata' | 'manual';

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

/**
 * Finds the book from what one user's reader taught the server (aliases learnt from that user's
 * metadata): asked after every BookSource, never cached, so one user's answer never reaches another.
 */
export interface UserSource {
  match(document: string, userId: number): BookMatch | undefined;
  /** The documents this user's entries give the book and format. */
  documentsOf(bookId: number, format: string, userId: number): string[];
}

/** Finds the book from what KOReader says about the file: asked last, never cached. */
export interface HintSource {
  match(document: string, hints: DocumentHints | undefined, userId: number | undefined): BookMatch | undefined;
}

/** Who asks (a sync's user, none for the CLI) and what their reader said about the file. */
export interface Asker {
  userId?: number;
  hints?: DocumentHints;
}

interface BookMatcherOptions {
  /** The asking user's own choices (manual links): asked before everything, the cache included. */
  overrides?: readonly UserSource[];
  /** Asked in order, first answer wins. */
  sources: readonly BookSource[];
  /** Asked in order after the sources, for the user who asks. */
  userSources?: readonly UserSource[];
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
 * depends on nothing but the document and the databases its version covers; a user source's answer
 * depends on the user and a hint source's on the hints too, so neither is ever cached. A cached match
 * is therefore exactly what the chain would answer now, for any user, with or without hints: the id
 * sources come first.
 */
export class BookMatcher {
  constructor(private readonly options: BookMatcherOptions) {}

  match(document: string, asker: Asker = {}): BookMatch | undefined {
    return this.matchWith(this.cacheUsable(), document, asker);
  }

  lookup(document: string, userId?: number): MatchLookup {
    const cached = this.cacheUsable();
    const asker = userId === undefined ? {} : { userId };
    const match = this.matchWith(cached, document, asker);
    return { match, documents: () => (match ? this.documentsWith(cached, match.bookId, match.format, userId) : []) };
  }

  private cacheUsable(): MatchCache | undefined {
    const { cache } = this.options;
    return cache?.validate() ? cache : undefined;
  }

  private matchWith(cache: MatchCache | undefined, document: string, { userId, hints }: Asker): BookMatch | undefined {
    if (userId !== undefined) {
      for (const source of this.options.overrides ?? []) {
        const found = source.match(document, userId);
        if (found) return found;
      }
    }
    const cached = cache?.match(document);
    if (cached) return cached;
    for (const source of this.options.sources) {
      const found = source.match(document);
      if (found) {
        cache?.rememberMatch(document, found);
        return found;
      }
    }
    if (userId !== undefined) {
      for (const source of this.options.userSources ?? []) {
        const found = source.match(document, userId);
        if (found) return found;
      }
    }
    for (const source of this.options.hintSources ?? []) {
      const found = source.match(document, hints, userId);
      if (found) return found;
    }
    this.options.onMiss?.(document);
    return undefined;
  }

  /** The book's documents: the id sources' (cached), then the asking user's own. */
  private documentsWith(cache: MatchCache | undefined, bookId: number, format: string, userId: number | undefined): string[] {
    let shared = cache?.documentsOf(bookId, format);
    if (!shared) {
      shared = [...new Set(this.options.sources.flatMap((s) => s.documentsOf(bookId, format)))];
      cache?.rememberDocuments(bookId, format, shared);
    }
    const own = [...(this.options.overrides ?? []), ...(this.options.userSources ?? [])];
    if (userId === undefined || own.length === 0) return shared;
    return [...new Set([...shared, ...own.flatMap((s) => s.documentsOf(bookId, format, userId))])];
  }
}
