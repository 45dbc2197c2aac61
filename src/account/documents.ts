import type { FastifyBaseLogger } from 'fastify';
import { orElse, type WarnLog } from '../util/or-else.js';
import { type Clock, msLeft } from '../clock.js';
import type { AppDb } from '../db/app-db.js';
import type { CalibreDb } from '../db/calibre-db.js';
import { formatSqlDatetime, storedDatetimeToEpochSeconds } from '../db/datetime.js';
import type { StateDb } from '../db/state-db.js';
import { KosyncError } from '../errors.js';
import type { BookMatcher, DocumentHints, MatchSource } from '../matching/book-matcher.js';
import type { LikelyBook, MissExplainer, MissReason } from '../matching/explain.js';
import type { LibraryTitles } from '../matching/library-titles.js';
import { deleteLink, saveLink } from '../repos/document-links.js';
import { findBook, listBookFormats } from '../repos/library.js';
import { listHistory } from '../repos/progress-history.js';
import { findProgress, listProgressOfUser, type ProgressRow } from '../repos/progress.js';
import { findUnmatchedOf } from '../repos/unmatched-documents.js';
import type { UserRow } from '../repos/users.js';
import { answeredFraction } from '../sync/cwa-rows.js';
import type { ProgressService } from '../sync/progress-service.js';
import { searchBooks } from './book-search.js';

/** The library a reader's documents are matched against; undefined when the server has none. */
interface AccountLibrary {
  calibreDb: CalibreDb;
  matcher: BookMatcher;
  explainer: MissExplainer;
  titles: LibraryTitles;
}

interface AccountDeps {
  appDb: AppDb;
  stateDb: StateDb;
  library: AccountLibrary | undefined;
  progress: ProgressService;
  clock: Clock;
}

/** A position as the API answers it: `percentage` 0–1, `timestamp` epoch seconds (as the sync protocol). */
export interface Position {
  progress: string;
  percentage: number;
  device: string;
  device_id: string | null;
  timestamp: number | null;
}

/** One of a reader's documents (docs/PROTOCOL.md §9.5): the API's fields, then what the page shows besides. */
export interface DocumentView extends Position {
  document: string;
  book: { id: number; title: string; authors: string[]; format: string } | null;
  /** How it matched (the source), or null. */
  match: MatchSource | null;
  /** Why it matches no book (a reason code of src/matching/explain.ts), or null when it matches or there is no library. */
  reason: MissReason | null;
  /** Said in a sentence, for the page and the CLI. */
  message: string | null;
  /** Up to three books the reader may mean, when it matches none. */
  likelyBooks: LikelyBook[];
}

/** A library book to link a document to. */
export interface BookChoice {
  id: number;
  title: string;
  authors: string[];
  formats: string[];
}

/** The format a link takes when the document's file name does not say: the commonest reflowable ones first. */
const LINK_FORMAT_PREFERENCE = ['EPUB', 'KEPUB', 'AZW3', 'MOBI', 'PDF'];

/** How long a link or an unlink waits for a lock another process holds on the state DB: a person waits. */
const LINK_WAIT_MS = 10_000;

/**
 * A reader's own sync (docs/PROTOCOL.md §9): their documents with the book each matched or why not,
 * the history of each, restoring a past position through the push path, and manual links.
 */
export class Account {
  constructor(private readonly deps: AccountDeps) {}

  /** Every document the user synced, newest first. */
  async documents(user: UserRow, log: WarnLog, deadline: number): Promise<DocumentView[]> {
    const rows = await this.deps.appDb.reading((conn) => listProgressOfUser(conn, user.id), this.waitUntil(deadline));
    return rows.map((row) => this.view(user, row, log));
  }

  /** One document of the user, or 404 code 2000 when they never synced it. */
  async document(user: UserRow, document: string, log: WarnLog, deadline: number): Promise<DocumentView> {
    const row = await this.deps.appDb.reading((conn) => findProgress(conn, user.id, document), this.waitUntil(deadline));
    if (!row) throw new KosyncError('unknownDocument');
    return this.view(user, row, log);
  }

  /** A document's history, newest first (docs/PROTOCOL.md §9.1). */
  history(user: UserRow, document: string): Position[] {
    return listHistory(this.deps.stateDb.conn, user.id, document).map((entry) => position(entry));
  }

  /**
   * Makes a past position current again (docs/PROTOCOL.md §9.5): the newest history entry of that second
   * is pushed again as its device pushed it, through the push path (read status, Kobo state, the bridge
   * and the Read column follow), stamped now so every device's next pull offers it.
   */
  async restore(user: UserRow, document: string, timestamp: number, log: FastifyBaseLogger, deadline: number): Promise<DocumentView> {
    const entry = listHistory(this.deps.stateDb.conn, user.id, document).find(
      (e) => storedDatetimeToEpochSeconds(e.timestamp) === timestamp,
    );
    if (!entry) throw new KosyncError('unknownPosition');
    const { progress, percentage, device, device_id: deviceId } = entry;
    await this.deps.progress.put(user, { document, progress, percentage, device, deviceId, hints: undefined }, log, deadline, {
      restore: true,
    });
    return this.document(user, document, log, deadline);
  }

  /**
   * Links one of the user's documents to a library book, for that user alone (docs/PROTOCOL.md §9.3), in
   * the format its file name names, else the book's commonest reflowable format.
   */
  async link(user: UserRow, document: string, bookId: number, log: FastifyBaseLogger, deadline: number): Promise<DocumentView> {
    await this.document(user, document, log, deadline);
    const calibre = this.deps.library?.calibreDb;
    const formats = calibre && Number.isSafeInteger(bookId) && findBook(calibre.conn, bookId) ? listBookFormats(calibre.conn, bookId) : [];
    if (formats.length === 0) throw new KosyncError('unknownBook');
    const format = linkFormat(formats, findUnmatchedOf(this.deps.stateDb.conn, user.id, document)?.filename ?? undefined);
    const at = formatSqlDatetime(this.deps.clock.nowMicros());
    await this.deps.stateDb.writing((conn) => saveLink(conn, { userId: user.id, document, bookId, format, at }), LINK_WAIT_MS);
    return this.document(user, document, log, deadline);
  }

  /** Removes the user's link of a document: it matches as it would without one. */
  async unlink(user: UserRow, document: string, log: FastifyBaseLogger, deadline: number): Promise<DocumentView> {
    await this.document(user, document, log, deadline);
    await this.deps.stateDb.writing((conn) => deleteLink(conn, user.id, document), LINK_WAIT_MS);
    return this.document(user, document, log, deadline);
  }

  /** Library books matching a search, to link a document to; none without a library. */
  books(query: string): BookChoice[] {
    const library = this.deps.library;
    if (!library) return [];
    return searchBooks(library.titles, query).map((book) => ({ ...book, formats: listBookFormats(library.calibreDb.conn, book.id) }));
  }

  private view(user: UserRow, row: ProgressRow, log: WarnLog): DocumentView {
    const base = { document: row.document, ...position(row, answeredFraction(row)) };
    const library = this.deps.library;
    if (!library) return { ...base, book: null, match: null, reason: null, message: null, likelyBooks: [] };
    // A failing library lookup leaves the document unmatched, as a sync does.
    const match = orElse(log, 'library lookup failed; document shown unmatched', undefined, () =>
      library.matcher.match(row.document, { userId: user.id }),
    );
    const book = match && findBook(library.calibreDb.conn, match.bookId);
    if (match && book) {
      const { id, title, authors } = book;
      return {
        ...base,
        book: { id, title, authors, format: match.format },
        match: match.source,
        reason: null,
        message: null,
        likelyBooks: [],
      };
    }
    const unmatched = findUnmatchedOf(this.deps.stateDb.conn, user.id, row.document);
    const hints: DocumentHints = {
      ...(unmatched?.title ? { title: unmatched.title } : {}),
      ...(unmatched?.authors ? { authors: unmatched.authors } : {}),
      ...(unmatched?.filename ? { filename: unmatched.filename } : {}),
    };
    const miss = library.explainer.explain(row.document, { userId: user.id, hints });
    return { ...base, book: null, match: null, reason: miss.reason, message: miss.message, likelyBooks: miss.likelyBooks };
  }

  private waitUntil(deadline: number): number {
    return msLeft(deadline, this.deps.clock.monotonicMs());
  }
}

/** The API's fields of a document (docs/PROTOCOL.md §9.5), in its order: what the API and `documents --json` answer. */
export function documentJson(view: DocumentView) {
  const { document, book, match, reason, progress, percentage, device, device_id, timestamp } = view;
  return { document, book, match, reason, progress, percentage, device, device_id, timestamp };
}

/** A stored row or history entry as the API answers it; `fraction` when the row needs CWA v3.1's reading (§2.4). */
function position(row: Omit<ProgressRow, 'id' | 'document'>, fraction = row.percentage / 100): Position {
  return {
    progress: row.progress,
    percentage: fraction,
    device: row.device,
    device_id: row.device_id ?? null,
    timestamp: storedDatetimeToEpochSeconds(row.timestamp) ?? null,
  };
}

function linkFormat(formats: string[], filename: string | undefined): string {
  const extension = filename?.split('.').pop()?.toUpperCase();
  if (extension && formats.includes(extension)) return extension;
  return LINK_FORMAT_PREFERENCE.find((f) => formats.includes(f)) ?? formats[0]!;
}
