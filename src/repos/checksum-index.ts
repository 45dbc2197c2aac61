/**
 * The checksum index in the state DB (schema/state/002-checksum-index.sql): the library's files as last
 * scanned (`library_files`), and every document id ever seen for a book and format (`document_ids`),
 * for everyone or, for an alias learnt from KOReader's metadata, for one user (004-download-ids-and-user-aliases.sql).
 */

import type { ExpressionBuilder, Selectable } from 'kysely';
import { type Connection, type PreparedQuery, prepared } from '../db/query.js';
import { stateQuery } from '../db/state-db.js';
import type { DocumentIdsTable, DocumentMethod, LibraryFilesTable, StateDatabase } from '../db/tables.js';

export type LibraryFileRow = Selectable<LibraryFilesTable>;

const DOCUMENT_COLUMNS = [
  'd.document',
  'd.book_id',
  'd.format',
  'd.method',
  'd.detail',
  'd.first_seen',
  'd.last_seen',
  'd.user_id',
] as const;

/** The `user_id` of an entry that holds for everyone (app.db's user ids start at 1). */
export const EVERYONE = 0;

/** Whether the book and format of document row `d` are in the library now, with the file present. */
function hasLiveFile({ exists, selectFrom }: ExpressionBuilder<StateDatabase & { d: DocumentIdsTable }, 'd'>) {
  return exists(
    selectFrom('library_files as f')
      .select('f.data_id')
      .whereRef('f.book_id', '=', 'd.book_id')
      .whereRef('f.format', '=', 'd.format')
      .where('f.checksum', 'is not', null),
  );
}

/** A document id of a book whose format is still in the library with its file present. */
export interface IndexedDocument {
  document: string;
  bookId: number;
  format: string;
  method: DocumentMethod;
  detail: string | null;
  firstSeen: string;
  lastSeen: string;
  /** EVERYONE, or the user the entry holds for alone (an alias from their KOReader metadata). */
  userId: number;
  /** Whether the book and format are in the library now with the file present. */
  live: boolean;
}

/** Prepared once per list of methods: each source asks with its own fixed list on every request. */
function perMethods<P, R>(build: (methods: readonly DocumentMethod[]) => PreparedQuery<P, R>) {
  const queries = new Map<string, PreparedQuery<P, R>>();
  return (methods: readonly DocumentMethod[]): PreparedQuery<P, R> => {
    const key = methods.join(',');
    let query = queries.get(key);
    if (!query) {
      query = build(methods);
      queries.set(key, query);
    }
    return query;
  };
}

const liveDocuments = perMethods((methods) =>
  prepared((p: { document: string; userId: number }) =>
    stateQuery
      .selectFrom('document_ids as d')
      .select(DOCUMENT_COLUMNS)
      .where('d.document', '=', p.document)
      .where('d.user_id', '=', p.userId)
      .where('d.method', 'in', methods)
      .where(hasLiveFile)
      .orderBy('d.first_seen', 'desc')
      .orderBy('d.id', 'desc'),
  ),
);

/** The documents of a book and format, none unless the format is in the library with its file present. */
const bookDocuments = perMethods((methods) =>
  prepared((p: { bookId: number; format: string; userId: number }) =>
    stateQuery
      .selectFrom('document_ids')
      .select('document')
      .distinct()
      .where('book_id', '=', p.bookId)
      .where('format', '=', p.format)
      .where('user_id', '=', p.userId)
      .where('method', 'in', methods)
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('library_files')
            .select('data_id')
            .where('book_id', '=', p.bookId)
            .where('format', '=', p.format)
            .where('checksum', 'is not', null),
        ),
      ),
  ),
);

/**
 * The books a document id belongs to, newest first (as CWA's lookup orders `created`), restricted to
 * methods and to the entries for everyone, or for one user; only books whose format is in the library
 * with its file present.
 */
export function findLiveDocuments(
  conn: Connection,
  document: string,
  methods: readonly DocumentMethod[],
  userId = EVERYONE,
): IndexedDocument[] {
  return conn.all(liveDocuments(methods), { document, userId }).map((r) => toIndexed(r, true));
}

/** Every index entry for a document, live or not, anyone's, newest first (for `checksums find`). */
export function findAllDocuments(conn: Connection, document: string): IndexedDocument[] {
  return conn
    .all(
      stateQuery
        .selectFrom('document_ids as d')
        .select(DOCUMENT_COLUMNS)
        .select((eb) => hasLiveFile(eb).as('live'))
        .where('d.document', '=', document)
        .orderBy('d.first_seen', 'desc')
        .orderBy('d.id', 'desc'),
    )
    .map((r) => toIndexed(r, Boolean(r.live)));
}

/** Every document id known for a book and format by these methods, for everyone or one user, history included. */
export function documentsOfBook(
  conn: Connection,
  bookId: number,
  format: string,
  methods: readonly DocumentMethod[],
  userId = EVERYONE,
): string[] {
  return conn.all(bookDocuments(methods), { bookId, format, userId }).map((r) => r.document);
}

type DocumentEntry = {
  document: string;
  bookId: number;
  format: string;
  method: DocumentMethod;
  detail: string | null;
  seen: string;
  /** The user the entry holds for alone; everyone when absent. */
  userId?: number;
};

/**
 * The index's writes are prepared once (db/query.ts): a scan makes thousands, in batches that run in
 * one event-loop turn, and building each with Kysely cost several times its statement.
 */
const upsertDocument = prepared((p: Required<DocumentEntry>) =>
  stateQuery
    .insertInto('document_ids')
    .values({
      document: p.document,
      book_id: p.bookId,
      format: p.format,
      method: p.method,
      detail: p.detail,
      first_seen: p.seen,
      last_seen: p.seen,
      user_id: p.userId,
    })
    .onConflict((oc) =>
      oc.columns(['document', 'book_id', 'format', 'method', 'user_id']).doUpdateSet({ last_seen: p.seen, detail: p.detail }),
    ),
);

/** Records that a document id belongs to a book and format (for everyone unless `userId`), or that it was seen again. */
export function recordDocument(conn: Connection, entry: DocumentEntry): void {
  conn.run(upsertDocument, { ...entry, userId: entry.userId ?? EVERYONE });
}

/** The metadata.db `data` ids the index has looked at. */
export function indexedDataIds(conn: Connection): number[] {
  return conn.all(stateQuery.selectFrom('library_files').select('data_id')).map((r) => r.data_id);
}

/** Rows read per query by `libraryFiles`. */
export const LIBRARY_FILES_PAGE = 500;

const libraryFilesAfter = prepared((p: { after: number }) =>
  stateQuery.selectFrom('library_files').selectAll().where('data_id', '>', p.after).orderBy('data_id').limit(LIBRARY_FILES_PAGE),
);

/** The next LIBRARY_FILES_PAGE rows of the index's files after data id `afterDataId`, in data id order. */
export function libraryFiles(conn: Connection, afterDataId: number): LibraryFileRow[] {
  return conn.all(libraryFilesAfter, { after: afterDataId });
}

const upsertLibraryFile = prepared((p: LibraryFileRow) => {
  const scanned = {
    book_id: p.book_id,
    format: p.format,
    path: p.path,
    download_name: p.download_name,
    size: p.size,
    mtime_ms: p.mtime_ms,
    checksum: p.checksum,
    scanned_at: p.scanned_at,
  };
  return stateQuery
    .insertInto('library_files')
    .values({ data_id: p.data_id, ...scanned })
    .onConflict((oc) => oc.column('data_id').doUpdateSet(scanned));
});

/** Inserts or replaces a file's row (by its metadata.db `data` id). */
export function saveLibraryFile(conn: Connection, row: LibraryFileRow): void {
  conn.run(upsertLibraryFile, row);
}

const removeLibraryFile = prepared((p: { dataId: number }) => stateQuery.deleteFrom('library_files').where('data_id', '=', p.dataId));

export function deleteLibraryFile(conn: Connection, dataId: number): void {
  conn.run(removeLibraryFile, { dataId });
}

/** The formats of a book present in the library now, as the index last saw them. */
export function liveFormatsOf(conn: Connection, bookId: number): string[] {
  return conn
    .all(
      stateQuery
        .selectFrom('library_files')
        .select('format')
        .where('book_id', '=', bookId)
        .where('checksum', 'is not', null)
        .orderBy('format'),
    )
    .map((r) => r.format);
}

function toIndexed(r: Omit<Selectable<DocumentIdsTable>, 'id'>, live: boolean): IndexedDocument {
  return {
    document: r.document,
    bookId: r.book_id,
    format: r.format,
    method: r.method,
    detail: r.detail,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    userId: r.user_id,
    live,
  };
}
