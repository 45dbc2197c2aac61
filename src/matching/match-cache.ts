import { LruCache } from '../util/lru-cache.js';
import type { BookMatch } from './book-matcher.js';

interface MatchCacheOptions {
  /** Entries kept per kind (matches, document lists); the least recently used go first. */
  maxEntries: number;
  /** Longest time an entry is trusted, whatever the version says. */
  ttlMs: number;
  now: () => number;
  /**
   * Changes whenever anything a match is computed from may have changed (metadata.db, the checksum
   * index). Read once per lookup; when it cannot be read, nothing cached is used.
   */
  version: () => string;
}

/**
 * Library matches and a book's document lists from earlier requests, so a repeated pull costs one
 * version check instead of a statement per source. Only matches are kept: a document nothing matched
 * runs the whole chain again each time (and asks the scanner for a refresh, as before).
 */
export class MatchCache {
  private version: string | undefined;
  private readonly matches: LruCache<string, BookMatch>;
  private readonly documents: LruCache<string, string[]>;

  constructor(private readonly options: MatchCacheOptions) {
    this.matches = new LruCache(options);
    this.documents = new LruCache(options);
  }

  /** Whether entries may be used for the lookup at hand; everything is dropped when the version moved. */
  validate(): boolean {
    let version: string;
    try {
      version = this.options.version();
    } catch {
      this.clear(); // e.g. metadata.db locked by a writer: the uncached lookup decides what happens
      return false;
    }
    if (version !== this.version) {
      this.clear();
      this.version = version;
    }
    return true;
  }

  match(document: string): BookMatch | undefined {
    return this.matches.get(document);
  }

  rememberMatch(document: string, match: BookMatch): void {
    this.matches.set(document, Object.freeze({ ...match }));
  }

  documentsOf(bookId: number, format: string): string[] | undefined {
    return this.documents.get(`${bookId}\0${format}`);
  }

  rememberDocuments(bookId: number, format: string, documents: string[]): void {
    this.documents.set(`${bookId}\0${format}`, Object.freeze([...documents]) as string[]);
  }

  private clear(): void {
    this.version = undefined;
    this.matches.clear();
    this.documents.clear();
  }
}
