import type { Clock } from '../clock.js';
import type { CalibreDb } from '../db/calibre-db.js';
import { type LibraryBook, listBooksWithAuthors } from '../repos/library.js';
import { normaliseTitle } from './title-author.js';

/** How long the table of library titles is reused before metadata.db is read again. */
const TITLES_TTL_MS = 60_000;

/**
 * The library's books with their authors, by normalised title, read from metadata.db at most once a
 * minute: what KOReader's metadata is compared with, for matching and for explaining a miss.
 */
export class LibraryTitles {
  private loaded: { books: LibraryBook[]; byTitle: Map<string, LibraryBook[]>; at: number } | undefined;

  constructor(
    private readonly calibre: CalibreDb,
    private readonly clock: Clock,
  ) {}

  /** The books whose normalised title is this one's. */
  withTitle(title: string): LibraryBook[] {
    return this.load().byTitle.get(normaliseTitle(title)) ?? [];
  }

  all(): LibraryBook[] {
    return this.load().books;
  }

  private load() {
    const now = this.clock.monotonicMs();
    if (this.loaded && now - this.loaded.at < TITLES_TTL_MS) return this.loaded;
    const books = listBooksWithAuthors(this.calibre.conn);
    const byTitle = new Map<string, LibraryBook[]>();
    for (const book of books) {
      const key = normaliseTitle(book.title);
      byTitle.set(key, [...(byTitle.get(key) ?? []), book]);
    }
    this.loaded = { books, byTitle, at: now };
    return this.loaded;
  }
}
