import type { FastifyBaseLogger } from 'fastify';
import { orElse } from '../util/or-else.js';
import type { AppDb } from '../db/app-db.js';
import type { StateDb } from '../db/state-db.js';
import { formatSqlDatetime, storedDatetimeToEpochSeconds } from '../db/datetime.js';
import type { Connection } from '../db/query.js';
import { endsTransaction } from '../db/storage-failure.js';
import { type Clock, msLeft } from '../clock.js';
import type { Asker, BookMatch, BookMatcher, MatchLookup } from '../matching/book-matcher.js';
import type { MissReporter } from '../matching/miss-reporter.js';
import { type HistoryEntry, recordHistory } from '../repos/progress-history.js';
import { findProgress, listNewestProgress, listProgress, saveProgress, type ProgressRow } from '../repos/progress.js';
import { isFinished, moveKoboBookmark, updateReadStatus } from '../repos/read-status.js';
import type { UserRow } from '../repos/users.js';
import { answeredFraction, servable } from './cwa-rows.js';
import type { KoboBridge } from './kobo-bridge.js';
import type { ProgressUpdate } from './progress-body.js';
import type { ReadColumnMarker } from './read-column.js';

interface ProgressServiceDeps {
  appDb: AppDb;
  /** Undefined when no Calibre library is available: sync still works, unmatched. */
  matcher: BookMatcher | undefined;
  /** Says why a push matched no book (once per user and document); undefined without a library. */
  misses?: MissReporter | undefined;
  clock: Clock;
  shareProgressAcrossFiles: boolean;
  /** Where every accepted push is kept (progress_history), the newest `historyLimit` per user and document. */
  stateDb: Pick<StateDb, 'later'>;
  historyLimit: number;
  /** KOSYNC_KEEP_FURTHEST: another device's push behind the current position does not replace it. */
  keepFurthest: boolean;
  /** KOSYNC_KOBO_BRIDGE (with a library): pushes move the Kobo bookmark, pulls answer a Kobo's position. */
  koboBridge?: KoboBridge | undefined;
  /** KOSYNC_READ_COLUMN (with a library): a finished book is marked read in Calibre's Read column. */
  readColumn?: ReadColumnMarker | undefined;
  onLockWait?: () => void;
  /** Told of every push and pull, and whether its document matched a library book (for metrics). */
  onSync?: (operation: 'push' | 'pull', matched: boolean) => void;
}

type CalibreFields = {
  calibre_book_id: number;
  calibre_book_title: string;
  calibre_book_format: string;
  calibre_checksum_version: string;
};

type PutAnswer = { document: string; timestamp: number } & Partial<CalibreFields>;
type GetAnswer =
  | Record<string, never>
  | ({
      document: string;
      progress: string;
      percentage: number;
      device: string;
      device_id?: string;
      timestamp?: number;
    } & Partial<CalibreFields>);

/** How a push is made: by a reader (the protocol's PUT), or by the reader's own choice of a past position (restore). */
interface PushOptions {
  /** A restore: written even when KOSYNC_KEEP_FURTHEST would keep a further position. */
  restore?: boolean;
}

/** The two sync operations (docs/PROTOCOL.md §2 and §4) over app.db and the library. */
export class ProgressService {
  /** Tells history recordings apart while they wait for the state DB (each is kept, none supersedes another). */
  private recordings = 0;
  /** Accepted pushes not yet handed to the state DB: those answered in this microtask run. */
  private unrecorded: HistoryEntry[] = [];

  constructor(private readonly deps: ProgressServiceDeps) {}

  /**
   * docs/PROTOCOL.md §4: the progress row, then read status and Kobo state when the document is a library
   * book, in one `BEGIN IMMEDIATE` transaction. The read-status step sits in a savepoint: if it fails only
   * it is rolled back, the progress row commits and the answer is still 200 — the original's guarantee
   * (CWA kosync.py commits progress first: docs/UPSTREAM.md#cwa-the-original-kosyncpy) with one commit
   * instead of two. Opt-in (docs/PROTOCOL.md §7): the Kobo bridge moves the Kobo bookmark in the same
   * savepoint, and a finished book is marked read in Calibre's Read column once the push has committed.
   */
  /** `deadline` (monotonic ms) ends any wait for app.db's lock: the request's budget, what authentication left of it. */
  async put(
    user: UserRow,
    update: ProgressUpdate,
    log: FastifyBaseLogger,
    deadline: number,
    options: PushOptions = {},
  ): Promise<PutAnswer> {
    const match = this.match(update.document, log, { userId: user.id, hints: update.hints });
    if (!match) this.reportMiss(user, update, log);
    const koboLocation = match && (await this.deps.koboBridge?.locationFor(match, update.progress, log));
    const nowMicros = this.deps.clock.nowMicros();
    const now = formatSqlDatetime(nowMicros);
    const keepFurthest = this.deps.keepFurthest && !options.restore;
    const replaced = await this.deps.appDb.transaction(
      (conn) => {
        if (keepFurthest && isBehindAnotherDevice(findProgress(conn, user.id, update.document), update)) return false;
        saveProgress(conn, {
          userId: user.id,
          document: update.document,
          progress: update.progress,
          percentage: update.percentage,
          device: update.device,
          deviceId: update.deviceId,
          timestamp: now,
        });
        if (!match) return true;
        conn.statement('SAVEPOINT read_status').run();
        try {
          const readStatus = { userId: user.id, bookId: match.bookId, percentage: update.percentage, now };
          updateReadStatus(conn, readStatus);
          if (koboLocation) moveKoboBookmark(conn, { ...readStatus, location: koboLocation });
        } catch (error) {
          // A lock, a storage failure or a transaction SQLite already rolled back fails the whole write.
          if (endsTransaction(conn, error)) throw error;
          conn.statement('ROLLBACK TO read_status').run();
          log.error({ err: error, bookId: match.bookId }, 'read status not updated; progress kept');
        }
        conn.statement('RELEASE read_status').run();
        return true;
      },
      { lockWaitMs: this.waitUntil(deadline), onLockWait: this.deps.onLockWait },
    );
    this.recordHistory(user, update, formatSqlDatetime(nowMicros));
    if (match && replaced && isFinished(update.percentage)) await this.deps.readColumn?.markFinished(match.bookId, log, deadline);
    this.deps.onSync?.('push', match !== undefined);
    return { document: update.document, timestamp: Math.floor(nowMicros / 1_000_000), ...calibreFields(match) };
  }

  /**
   * The stored progress, `{}` when there is none. When the document is a library book, the newest of
   * its own rows and those CWA keyed by the book id (docs/PROTOCOL.md §2.4) and, with sharing on, of
   * any file of the same book and format (§2.3), echoing the requested document. A row no reader can
   * go to (CWNG's percentage-only rows, a book-id row of another kind of position) is passed over for
   * the next one. With the Kobo bridge, a newer position a Kobo wrote instead (docs/PROTOCOL.md §7.1).
   */
  async get(user: UserRow, document: string, log: FastifyBaseLogger, deadline: number): Promise<GetAnswer> {
    const lookup = this.lookup(document, user.id, log);
    const match = lookup?.match;
    const { koboBridge, shareProgressAcrossFiles } = this.deps;
    const documents = lookup && match && (shareProgressAcrossFiles || koboBridge) ? this.documentsOf(lookup, log) : [];
    const siblings = shareProgressAcrossFiles ? documents : [];
    const bookIdKey = match ? String(match.bookId) : undefined;
    const read = <T>(body: (conn: Connection) => T) => this.deps.appDb.reading(body, this.waitUntil(deadline));
    const rows = await read((conn) =>
      bookIdKey === undefined
        ? listProgress(conn, user.id, document)
        : listNewestProgress(conn, user.id, [...new Set([document, ...siblings, bookIdKey])]),
    );
    const row = rows.find((r) => servable(r, match?.format, bookIdKey === document ? undefined : bookIdKey));
    // A KOReader position CWA keyed by the book id counts as one of the book's, as the bridge compares.
    const kobo =
      match && (await koboBridge?.positionFor(user.id, match, [...new Set([document, ...documents, String(match.bookId)])], read, log));
    this.deps.onSync?.('pull', match !== undefined);
    if (kobo) return { document, ...kobo, ...calibreFields(match) };
    return row ? { ...progressFields(document, row), ...calibreFields(match) } : {};
  }

  /**
   * Keeps the accepted push in the state DB's history once app.db has committed it. The pushes one group
   * commit answered resume in one microtask run, so they are written together, in one state DB
   * transaction, before any other request is read: ~20 µs a push instead of ~80 µs each alone, on the
   * event loop (BENCHMARKS.md, issue 17). The state DB may be locked by another process: the entries
   * then wait for it in the background, and a batch dropped is logged.
   */
  private recordHistory(user: UserRow, update: ProgressUpdate, timestamp: string): void {
    if (this.unrecorded.length === 0) queueMicrotask(() => this.writeHistory());
    this.unrecorded.push({ userId: user.id, document: update.document, ...pick(update), timestamp });
  }

  private writeHistory(): void {
    const entries = this.unrecorded;
    this.unrecorded = [];
    this.deps.stateDb.later(`history:${++this.recordings}`, 'pushes kept in the history', (conn) =>
      recordHistory(conn, entries, this.deps.historyLimit),
    );
  }

  private waitUntil(deadline: number): number {
    return msLeft(deadline, this.deps.clock.monotonicMs());
  }

  /** The library book of a document; a failing library lookup is logged and leaves it unmatched, as CWA. */
  private match(document: string, log: FastifyBaseLogger, asker: Asker): BookMatch | undefined {
    return orElse(log, 'library lookup failed; document treated as unmatched', undefined, () => this.deps.matcher?.match(document, asker));
  }

  /** Why a push matched no book, said once per user and document; a failure to explain never fails the push. */
  private reportMiss(user: UserRow, update: ProgressUpdate, log: FastifyBaseLogger): void {
    orElse(log, 'could not explain why the document matches no book', undefined, () =>
      this.deps.misses?.report(user, update.document, update.hints, log),
    );
  }

  private lookup(document: string, userId: number, log: FastifyBaseLogger): MatchLookup | undefined {
    return orElse(log, 'library lookup failed; document treated as unmatched', undefined, () =>
      this.deps.matcher?.lookup(document, userId),
    );
  }

  private documentsOf(lookup: MatchLookup, log: FastifyBaseLogger): string[] {
    return orElse(log, 'library lookup failed; progress not shared across files', [], () => lookup.documents());
  }
}

const pick = ({ progress, percentage, device, deviceId }: ProgressUpdate) => ({ progress, percentage, device, deviceId });

/**
 * KOSYNC_KEEP_FURTHEST (docs/PROTOCOL.md §9.2): whether a push is from another device than the stored
 * position's (by device_id when both have one, else by device name) and behind it. The same device may
 * always go back (the reader chose to).
 */
function isBehindAnotherDevice(current: ProgressRow | undefined, update: ProgressUpdate): boolean {
  if (!current) return false;
  const sameDevice =
    update.deviceId !== null && current.device_id !== null ? update.deviceId === current.device_id : update.device === current.device;
  return !sameDevice && update.percentage / 100 < answeredFraction(current);
}

function progressFields(document: string, row: ProgressRow) {
  const timestamp = storedDatetimeToEpochSeconds(row.timestamp);
  return {
    document,
    progress: row.progress,
    percentage: answeredFraction(row),
    device: row.device,
    // The reference server leaves device_id out when none was stored, the original sends null
    // (docs/UPSTREAM.md#the-reference-server-errors-and-fields).
    ...(row.device_id !== null && row.device_id !== undefined ? { device_id: row.device_id } : {}),
    ...(timestamp !== undefined ? { timestamp } : {}),
  };
}

function calibreFields(match: BookMatch | undefined): Partial<CalibreFields> {
  return match
    ? {
        calibre_book_id: match.bookId,
        calibre_book_title: match.title,
        calibre_book_format: match.format,
        calibre_checksum_version: match.checksumVersion,
      }
    : {};
}
