/**
 * Calibre's metadata.db (read-only): the books, their formats and authors, and where each format's file
 * lies in the library folder.
 */
import { calibreQuery } from '../db/calibre-db.js';
import { type Connection, prepared } from '../db/query.js';

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
  /** Where the file lies, relative to the library folder (bookFilePath). */
  path: string;
}

/** A book with its authors in Calibre-Web's order. */
export interface LibraryBook {
  id: number;
  title: string;
  authors: string[];
}

/** calibre's layout: a format's file is `<books.path>/<data.name>.<lower(data.format)>` in the library folder. */
function bookFilePath(bookPath: string, dataName: string, format: string): string {
  return `${bookPath}/${dataName}.${format.toLowerCase()}`;
}

/** Formats read per query by `listLibraryFormats`. */
export const FORMATS_PAGE = 500;

const formatsAfter = prepared((p: { after: number }) =>
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
    .where('d.id', '>', p.after)
    .orderBy('d.id')
    .limit(FORMATS_PAGE),
);

/** The next FORMATS_PAGE formats of the library after `data.id` `afterDataId`, in `data.id` order. */
export function listLibraryFormats(conn: Connection, afterDataId: number): LibraryFormat[] {
  return conn.all(formatsAfter, { after: afterDataId }).map((r) => ({
    dataId: r.id,
    bookId: r.book,
    format: r.format.toUpperCase(),
    title: r.title,
    author: r.author ?? undefined,
    dataName: r.name,
    path: bookFilePath(r.path, r.name, r.format),
  }));
}

/** Where the first `count` formats' files lie (by `data` id), relative to the library folder. */
export function sampleFormatPaths(conn: Connection, count: number): string[] {
  return conn
    .all(
      calibreQuery
        .selectFrom('data as d')
        .innerJoin('books as b', 'b.id', 'd.book')
        .select(['b.path', 'd.name', 'd.format'])
        .orderBy('d.id')
        .limit(count),
    )
    .map((r) => bookFilePath(r.path, r.name, r.format));
}

const formatFile = prepared((p: { bookId: number; format: string }) =>
  calibreQuery
    .selectFrom('data as d')
    .innerJoin('books as b', 'b.id', 'd.book')
    .select(['b.path', 'd.name', 'd.format'])
    .where('d.book', '=', p.bookId)
    .where('d.format', '=', p.format)
    .limit(1),
);

/** Where a book's file in `format` lies, relative to the library folder; undefined when the book has no such format. */
export function findFormatPath(conn: Connection, bookId: number, format: string): string | undefined {
  const row = conn.first(formatFile, { bookId, format });
  return row && bookFilePath(row.path, row.name, row.format);
}

/** Every format's `data` id: what a complete checksum index has a row for. */
export function listDataIds(conn: Connection): number[] {
  return conn.all(calibreQuery.selectFrom('data').select('id')).map((r) => r.id);
}

const bookTitle = prepared((p: { id: number }) => calibreQuery.selectFrom('books').select('title').where('id', '=', p.id));

/** A book's title, or undefined when metadata.db no longer has the book. */
export function findBookTitle(conn: Connection, bookId: number): string | undefined {
  return conn.first(bookTitle, { id: bookId })?.title;
}

/** Every book with its authors, in id order. */
export function listBooksWithAuthors(conn: Connection): LibraryBook[] {
  const rows = conn.all(
    calibreQuery
      .selectFrom('books as b')
      .leftJoin('books_authors_link as l', 'l.book', 'b.id')
      .leftJoin('authors as a', 'a.id', 'l.author')
      .select(['b.id', 'b.title', 'a.name'])
      .orderBy('b.id')
      .orderBy('l.id'),
  );
  const books = new Map<number, LibraryBook>();
  for (const row of rows) {
    let book = books.get(row.id);
    if (!book) {
      book = { id: row.id, title: row.title, authors: [] };
      books.set(row.id, book);
    }
    if (row.name) book.authors.push(row.name);
  }
  return [...books.values()];
}

const bookFormats = prepared((p: { id: number }) =>
  calibreQuery.selectFrom('data').select('format').where('book', '=', p.id).orderBy('format'),
);

/** A book's formats (upper case, alphabetical); none when metadata.db no longer has the book. */
export function listBookFormats(conn: Connection, bookId: number): string[] {
  return conn.all(bookFormats, { id: bookId }).map((r) => r.format.toUpperCase());
}

const bookAuthors = prepared((p: { id: number }) =>
  calibreQuery
    .selectFrom('books_authors_link as l')
    .innerJoin('authors as a', 'a.id', 'l.author')
    .select('a.name')
    .where('l.book', '=', p.id)
    .orderBy('l.id'),
);

/** A book with its authors in Calibre-Web's order, or undefined when metadata.db no longer has it. */
export function findBook(conn: Connection, bookId: number): LibraryBook | undefined {
  const title = findBookTitle(conn, bookId);
  if (title === undefined) return undefined;
  return { id: bookId, title, authors: conn.all(bookAuthors, { id: bookId }).map((r) => r.name) };
}
