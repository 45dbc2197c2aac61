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
}

export class BookMatcher {
  constructor(
    private readonly sources: readonly BookSource[],
    private readonly options: BookMatcherOptions = {},
  ) {}

  match(document: string, hints?: DocumentHints): BookMatch | undefined {
    for (const source of this.sources) {
      const found = source.match(document, hints);
      if (found) return found;
    }
    this.options.onMiss?.(document);
    return undefined;
  }

  documentsOf(bookId: number, format: string): string[] {
    return [...new Set(this.sources.flatMap((s) => s.documentsOf(bookId, format)))];
  }
}
