import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock } from '../clock.js';
import type { CalibreDb } from '../db/calibre-db.js';
import { formatSqlDatetime } from '../db/datetime.js';
import type { StateDb } from '../db/state-db.js';
import { deleteLibraryFile, type LibraryFileRow, libraryFiles, recordDocument, saveLibraryFile } from '../repos/checksum-index.js';
import { type LibraryFormat, listLibraryFormats } from '../repos/library.js';
import { downloadName, fileNamesOf, filenameDocumentIds } from './file-names.js';
import { partialMd5 } from './partial-md5.js';

export interface ScanProgress {
  done: number;
  total: number;
}

export interface ScanSummary {
  /** Library formats (metadata.db `data` rows) looked at. */
  files: number;
  /** Files whose partial MD5 was computed (new, changed, or every file on a full scan). */
  hashed: number;
  unchanged: number;
  /** Formats whose file is not on disk. */
  missing: number;
  /** Index rows dropped because their book or format left metadata.db. */
  removed: number;
  /** Files that could not be read (permissions, I/O errors). */
  failed: number;
  full: boolean;
  durationMs: number;
}

interface ScannerStatus {
  running: boolean;
  /** The first scan since start: until `complete`, only part of the library is matched by the index. */
  firstScan: ScanProgress & { complete: boolean };
  /** The scan in progress, if any. */
  current: ScanProgress | undefined;
  lastScan: (ScanSummary & { finishedAt: string }) | undefined;
}

/** The part of a pino/fastify logger the scanner uses. */
interface ScanLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

interface ScannerOptions {
  library: string;
  calibre: CalibreDb;
  state: StateDb;
  clock: Clock;
  /** Incremental refresh period; 0 turns periodic refreshes off. */
  intervalMs: number;
  /** Least time between two refreshes asked for by unknown documents. */
  unknownRefreshGapMs: number;
  /** Files stat'ed and hashed at once. */
  concurrency?: number;
}

interface ScanRequest {
  /** Rehash every file, not only new or changed ones. */
  full?: boolean;
  onProgress?: (progress: ScanProgress) => void;
}

/** Writes are committed in batches this large, so a scan holds the state DB only briefly. */
const WRITE_BATCH = 256;
/**
 * How long a batch waits for a lock another process holds on the state DB (off the event loop) before
 * the scan gives up; the next refresh starts over. Below the shutdown grace period.
 */
const BATCH_WAIT_MS = 5000;
/** First-scan progress is logged in tenths for libraries at least this large. */
const LOG_PROGRESS_FROM = 500;

type Outcome = 'hashed' | 'unchanged' | 'missing' | 'failed';

/**
 * Keeps the checksum index (schema/state/002-checksum-index.sql) in step with the library: every
 * format's file is stat'ed, and hashed when new or when its size, mtime or path changed. Runs in the
 * background: at start, on an interval, and (rate-limited) when a document matches nothing.
 * Timers never keep the process alive, and `stop()` ends a scan between two files.
 */
export class ChecksumScanner {
  private running: Promise<ScanSummary | undefined> | undefined;
  private current: ScanProgress | undefined;
  private first: ScanProgress & { complete: boolean } = { done: 0, total: 0, complete: false };
  private last: (ScanSummary & { finishedAt: string }) | undefined;
  private lastStartMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private log: ScanLog | undefined;

  constructor(private readonly options: ScannerOptions) {}

  /** Begins the first scan and the periodic refreshes; returns at once (readiness is not delayed). */
  start(log: ScanLog): void {
    if (this.stopped || this.log) return;
    this.log = log;
    void this.launch({});
    if (this.options.intervalMs > 0) {
      this.timer = setInterval(() => void this.launch({}), this.options.intervalMs);
      this.timer.unref();
    }
  }

  /** Stops timers and any scan in progress (after the file being read); resolves once it has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Called for a document nothing matched: a refresh, unless one ran within the rate limit. */
  requestRefresh(): void {
    if (this.stopped || this.running || !this.log) return;
    const now = this.options.clock.monotonicMs();
    if (this.lastStartMs !== undefined && now - this.lastStartMs < this.options.unknownRefreshGapMs) return;
    void this.launch({});
  }

  /** Runs a scan now (or waits for the one running, then runs); for the CLI and tests. */
  async scan(request: ScanRequest = {}): Promise<ScanSummary> {
    while (this.running) await this.running;
    const summary = await this.launch(request);
    if (!summary) throw new Error('the checksum scan was stopped or failed; see the log');
    return summary;
  }

  /** Resolves when no scan is running. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  status(): ScannerStatus {
    return {
      running: this.running !== undefined,
      firstScan: { ...this.first },
      current: this.current && { ...this.current },
      lastScan: this.last && { ...this.last },
    };
  }

  private launch(request: ScanRequest): Promise<ScanSummary | undefined> {
    if (this.running) return this.running;
    this.lastStartMs = this.options.clock.monotonicMs();
    const run = this.run(request)
      .catch((error: unknown) => {
        this.log?.warn({ err: error }, 'checksum index: scan failed; the next refresh retries');
        return undefined;
      })
      .finally(() => {
        this.running = undefined;
        this.current = undefined;
      });
    this.running = run;
    return run;
  }

  private async run(request: ScanRequest): Promise<ScanSummary | undefined> {
    const { calibre, state, library } = this.options;
    const startedAt = this.options.clock.monotonicMs();
    const full = request.full ?? false;
    const formats = await readInPages(
      (after) => listLibraryFormats(calibre.conn, after),
      (format) => format.dataId,
    );
    const files = await readInPages(
      (after) => libraryFiles(state.conn, after),
      (row) => row.data_id,
    );
    const known = new Map(files.map((row) => [row.data_id, row]));
    const isFirst = !this.first.complete;
    const progress: ScanProgress = { done: 0, total: formats.length };
    this.current = progress;
    if (isFirst) {
      this.first = { done: 0, total: formats.length, complete: false };
      this.log?.info({ total: formats.length }, 'checksum index: first scan started');
    }

    const counts: Record<Outcome, number> = { hashed: 0, unchanged: 0, missing: 0, failed: 0 };
    const writes: (() => void)[] = [];
    /** Set when a batch could not be written: the other workers stop, the scan fails. */
    let failed = false;
    const flush = async () => {
      if (writes.length === 0 || this.stopped) return;
      const batch = writes.splice(0);
      try {
        await state.writing(() => {
          for (const write of batch) write();
        }, BATCH_WAIT_MS);
      } catch (error) {
        failed = true;
        throw error;
      }
    };

    let next = 0;
    let loggedTenth = 0;
    const worker = async () => {
      while (next < formats.length && !this.stopped && !failed) {
        const format = formats[next++]!;
        const outcome = await this.examine(format, known.get(format.dataId), full, library, writes);
        if (this.stopped) return;
        counts[outcome]++;
        progress.done++;
        if (isFirst) this.first.done = progress.done;
        request.onProgress?.({ ...progress });
        if (writes.length >= WRITE_BATCH) await flush();
        const tenth = Math.floor((progress.done * 10) / progress.total);
        if (isFirst && progress.total >= LOG_PROGRESS_FROM && tenth > loggedTenth) {
          loggedTenth = tenth;
          this.log?.info({ done: progress.done, total: progress.total }, 'checksum index: first scan progress');
        }
      }
    };
    await Promise.all(Array.from({ length: this.options.concurrency ?? 4 }, worker));
    if (this.stopped) return undefined;

    const present = new Set(formats.map((f) => f.dataId));
    const gone = [...known.keys()].filter((id) => !present.has(id));
    for (const dataId of gone) writes.push(() => deleteLibraryFile(state.conn, dataId));
    await flush();

    const summary: ScanSummary = {
      files: formats.length,
      ...counts,
      removed: gone.length,
      full,
      durationMs: Math.round(this.options.clock.monotonicMs() - startedAt),
    };
    this.last = { ...summary, finishedAt: this.now() };
    if (isFirst) {
      this.first.complete = true;
      this.log?.info(summary, 'checksum index: first scan done');
    } else if (summary.hashed + summary.removed + summary.failed > 0) {
      this.log?.info(summary, 'checksum index: refreshed');
    }
    return summary;
  }

  /** Stats one format's file and queues the index writes it needs. */
  private async examine(
    format: LibraryFormat,
    previous: LibraryFileRow | undefined,
    full: boolean,
    library: string,
    writes: (() => void)[],
  ): Promise<Outcome> {
    const { conn } = this.options.state;
    const downloaded = downloadName(format);
    const sameFormat =
      previous !== undefined && previous.book_id === format.bookId && previous.format === format.format && previous.path === format.path;
    const row = (fields: Pick<LibraryFileRow, 'size' | 'mtime_ms' | 'checksum'>): LibraryFileRow => ({
      data_id: format.dataId,
      book_id: format.bookId,
      format: format.format,
      path: format.path,
      download_name: downloaded,
      ...fields,
      scanned_at: this.now(),
    });
    const recordNames = (seen: string) => {
      for (const name of fileNamesOf(format)) {
        for (const id of filenameDocumentIds(name)) {
          recordDocument(conn, {
            document: id.document,
            bookId: format.bookId,
            format: format.format,
            method: 'filename',
            detail: id.name,
            seen,
          });
        }
      }
    };

    let info: Stats;
    try {
      info = await stat(join(library, format.path));
    } catch {
      if (!(sameFormat && previous.checksum === null))
        writes.push(() => saveLibraryFile(conn, row({ size: null, mtime_ms: null, checksum: null })));
      return 'missing';
    }
    if (!full && sameFormat && previous.checksum !== null && previous.size === info.size && previous.mtime_ms === info.mtimeMs) {
      if (previous.download_name !== downloaded) {
        const current = { ...previous, download_name: downloaded };
        writes.push(() => {
          saveLibraryFile(conn, current);
          recordNames(this.now());
        });
      }
      return 'unchanged';
    }
    let checksum: string;
    try {
      checksum = await partialMd5(join(library, format.path));
    } catch (error) {
      this.log?.warn({ err: error, path: format.path }, 'checksum index: file not readable');
      return 'failed';
    }
    writes.push(() => {
      const seen = this.now();
      saveLibraryFile(conn, row({ size: info.size, mtime_ms: info.mtimeMs, checksum }));
      recordDocument(conn, {
        document: checksum,
        bookId: format.bookId,
        format: format.format,
        method: 'binary',
        detail: format.path,
        seen,
      });
      recordNames(seen);
    });
    return 'hashed';
  }

  private now(): string {
    return formatSqlDatetime(this.options.clock.nowMicros());
  }
}

/**
 * Every row of a table read a page at a time in key order, the event loop free between pages: in one
 * query, a 10,000-book library's formats and index rows held the loop for ~300 ms at every refresh
 * (BENCHMARKS.md, open loop). Each page is its own short read, so no lock is held in between; a row
 * a writer adds meanwhile below the last key read is seen at the next refresh.
 */
async function readInPages<T>(page: (afterKey: number) => T[], keyOf: (row: T) => number): Promise<T[]> {
  const rows: T[] = [];
  for (let after = 0; ; ) {
    const next = page(after);
    if (next.length === 0) return rows;
    rows.push(...next);
    after = keyOf(next.at(-1)!);
    await nextTurn();
  }
}
