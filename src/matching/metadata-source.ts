import { extname } from 'node:path';
import type { Clock } from '../clock.js';
import type { CalibreDb } from '../db/calibre-db.js';
import { formatSqlDatetime } from '../db/datetime.js';
import type { StateDb } from '../db/state-db.js';
import { liveFormatsOf, recordDocument } from '../repos/checksum-index.js';
import { type LibraryBook, listBooksWithAuthors } from '../repos/library.js';
import type { BookMatch, DocumentHints, HintSource } from './book-matcher.js';
import { authorsMatch, normaliseTitle } from './title-author.js';

/** How long the table of library titles is reused before metadata.db is read again. */
const TITLES_TTL_MS = 60_000;

/**
 * The last resort for an unknown document: KOReader's optional `metadata` (title, authors, filename)
 * compared with the library by normalised title and author. Exactly one book must fit, never a guess
 * between two; its format must be clear (the file name's extension, or the book's only format). The
 * document is then recorded in the index as an alias of that book, so later requests match by id.
 */
export class MetadataSource implements HintSource {
  private titles: { byTitle: Map<string, LibraryBook[]>; loadedAt: number } | undefined;

  constructor(
    private readonly calibre: CalibreDb,
    private readonly state: StateDb,
    private readonly clock: Clock,
  ) {}

  match(document: string, hints: DocumentHints | undefined): BookMatch | undefined {
    if (!hints?.title || !hints.authors) return undefined;
    const { title, authors } = hints;
    const candidates = (this.booksByTitle().get(normaliseTitle(title)) ?? []).filter((b) => authorsMatch(authors, b.authors));
    if (candidates.length !== 1) return undefined;
    const book = candidates[0]!;
    const format = this.formatOf(book.id, hints.filename);
    if (!format) return undefined;
    const alias = {
      document,
      bookId: book.id,
      format,
      method: 'metadata' as const,
      detail: JSON.stringify({ title, authors, ...(hints.filename ? { filename: hints.filename } : {}) }),
      seen: formatSqlDatetime(this.clock.nowMicros()),
    };
    // Deferred while another process holds the state DB's lock: this sync is matched all the same.
    this.state.later(`alias:${document}:${book.id}:${format}`, 'recording a document alias from KOReader metadata', (conn) =>
      recordDocument(conn, alias),
    );
    return { bookId: book.id, title: book.title, format, checksumVersion: 'koreader', source: 'metadata' };
  }

  /** The device file's extension when the book has that format (`.kepub.epub` is KEPUB), else its only format. */
  private formatOf(bookId: number, filename: string | undefined): string | undefined {
    const formats = liveFormatsOf(this.state.conn, bookId);
    if (filename) {
      const lower = filename.toLowerCase();
      const ext = lower.endsWith('.kepub.epub') ? 'KEPUB' : extname(lower).slice(1).toUpperCase();
      if (formats.includes(ext)) return ext;
    }
    return formats.length === 1 ? formats[0] : undefined;
  }

  private booksByTitle(): Map<string, LibraryBook[]> {
    const now = this.clock.monotonicMs();
    if (this.titles && now - this.titles.loadedAt < TITLES_TTL_MS) return this.titles.byTitle;
    const byTitle = new Map<string, LibraryBook[]>();
    for (const book of listBooksWithAuthors(this.calibre.conn)) {
      const key = normaliseTitle(book.title);
      byTitle.set(key, [...(byTitle.get(key) ?? []), book]);
    }
    this.titles = { byTitle, loadedAt: now };
    return byTitle;
  }
}
