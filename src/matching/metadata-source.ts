import { extname } from 'node:path';
import type { Clock } from '../clock.js';
import { formatSqlDatetime } from '../db/datetime.js';
import type { StateDb } from '../db/state-db.js';
import { liveFormatsOf, recordDocument } from '../repos/checksum-index.js';
import type { LibraryBook } from '../repos/library.js';
import type { BookMatch, DocumentHints, HintSource } from './book-matcher.js';
import type { LibraryTitles } from './library-titles.js';
import { authorsMatch } from './title-author.js';

/** What KOReader's metadata says about a document, compared with the library. */
export type MetadataOutcome =
  /** No title or no authors were sent. */
  | { kind: 'absent' }
  /** No book has that title and author. */
  | { kind: 'none' }
  /** Several books have that title and author. */
  | { kind: 'several'; books: LibraryBook[] }
  /** One book, but the file name does not tell which of its formats (none, when the index has no file of it yet). */
  | { kind: 'format-unclear'; book: LibraryBook; formats: string[] }
  | { kind: 'one'; book: LibraryBook; format: string };

/**
 * KOReader's optional `metadata` compared with the library by normalised title and author. Exactly one
 * book must fit, never a guess between two; its format must be clear (the file name's extension, or
 * the book's only format in the library).
 */
export function compareMetadata(titles: LibraryTitles, state: StateDb, hints: DocumentHints | undefined): MetadataOutcome {
  if (!hints?.title || !hints.authors) return { kind: 'absent' };
  const { authors } = hints;
  const books = titles.withTitle(hints.title).filter((b) => authorsMatch(authors, b.authors));
  if (books.length === 0) return { kind: 'none' };
  if (books.length > 1) return { kind: 'several', books };
  const book = books[0]!;
  const formats = liveFormatsOf(state.conn, book.id);
  const format = formatOf(formats, hints.filename);
  return format ? { kind: 'one', book, format } : { kind: 'format-unclear', book, formats };
}

/** The device file's extension when the book has that format (`.kepub.epub` is KEPUB), else its only format. */
function formatOf(formats: string[], filename: string | undefined): string | undefined {
  if (filename) {
    const lower = filename.toLowerCase();
    const ext = lower.endsWith('.kepub.epub') ? 'KEPUB' : extname(lower).slice(1).toUpperCase();
    if (formats.includes(ext)) return ext;
  }
  return formats.length === 1 ? formats[0] : undefined;
}

/**
 * The last resort for an unknown document: KOReader's metadata (compareMetadata). When one book and
 * format fit, the document is recorded in the index as an alias of it for the user who sent the
 * metadata (UserAliasSource), so that user's later requests match by id; never for anyone else.
 */
export class MetadataSource implements HintSource {
  constructor(
    private readonly titles: LibraryTitles,
    private readonly state: StateDb,
    private readonly clock: Clock,
  ) {}

  match(document: string, hints: DocumentHints | undefined, userId: number | undefined): BookMatch | undefined {
    const outcome = compareMetadata(this.titles, this.state, hints);
    if (outcome.kind !== 'one') return undefined;
    const { book, format } = outcome;
    if (userId !== undefined) {
      const alias = {
        userId,
        document,
        bookId: book.id,
        format,
        method: 'metadata' as const,
        detail: JSON.stringify({ title: hints?.title, authors: hints?.authors, ...(hints?.filename ? { filename: hints.filename } : {}) }),
        seen: formatSqlDatetime(this.clock.nowMicros()),
      };
      // Deferred while another process holds the state DB's lock: this sync is matched all the same.
      this.state.later(`alias:${userId}:${document}:${book.id}:${format}`, 'recording a document alias from KOReader metadata', (conn) =>
        recordDocument(conn, alias),
      );
    }
    return { bookId: book.id, title: book.title, format, checksumVersion: 'koreader', source: 'metadata' };
  }
}
