import { calibreQuery, type CalibreDb } from '../db/calibre-db.js';

/** One `data` row of metadata.db: a format of a book and where its file lives. */
export interface LibraryFormat {
  dataId: number;
  bookId: number;
  /** Upper-case, e.g. EPUB. */
  format: string;
  title: string;
  /** The first author as Calibre-Web orders them (books_authors_link.id), if any. */
  author: string | undefined;
  dataName: string;
  /** `<books.path>/<data.name>.<lower(format)>`, relative to the library (calibre's layout). */
  path: string;
}

/** Every format of every book, read from metadata.db in one query. */
export function listLibraryFormats(calibre: CalibreDb): LibraryFormat[] {
  const rows = calibre.conn.all(
    calibreQuery
      .selectFrom('data as d')
      .innerJoin('books as b', 'b.id', 'd.book')
      .select(['d.id', 'd.book', 'd.format', 'd.name', 'b.path', 'b.title'])
      .select((eb) =>
        eb
          .selectFrom('books_authors_link as l')
          .innerJoin('authors as a', 'a.id', 'l.author')
          .select('a.name')
          .whereRef('l.book', '=', 'b.id')
          .orderBy('l.id')
          .limit(1)
          .as('author'),
      )
      .orderBy('d.id'),
  );
  return rows.map((r) => ({
    dataId: r.id,
    bookId: r.book,
    format: r.format.toUpperCase(),
    title: r.title,
    author: r.author ?? undefined,
    dataName: r.name,
    path: `${r.path}/${r.name}.${r.format.toLowerCase()}`,
  }));
}
