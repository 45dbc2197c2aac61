import type { FastifyBaseLogger } from 'fastify';
import { type Clock, msLeft } from '../clock.js';
import type { AppDb } from '../db/app-db.js';
import { retryWhileBusy, until } from '../db/busy.js';
import type { CalibreDb } from '../db/calibre-db.js';
import { writeCalibreDb } from '../db/calibre-writer.js';
import { findReadColumn, isMarkedRead, markRead, type ReadColumn } from '../repos/read-column.js';
import { readColumnFromSettings, readSettingsRow } from '../repos/settings.js';

interface ReadColumnMarkerDeps {
  appDb: AppDb;
  calibre: CalibreDb;
  clock: Clock;
}

/**
 * Calibre's "Read" column (KOSYNC_READ_COLUMN, beyond the original: docs/PROTOCOL.md §7.2). When
 * Calibre-Web keeps read status in a yes/no column of metadata.db (config_read_column) rather than
 * book_read_link, a book finished in KOReader is marked read there too, so Calibre-Web's pages, shelves
 * and OPDS show it (docs/UPSTREAM.md#calibre-web-the-read-column). The column is the library's, shared
 * by every user; it is only ever set, never cleared.
 */
export class ReadColumnMarker {
  constructor(private readonly deps: ReadColumnMarkerDeps) {}

  /**
   * After a push that finished `bookId` has committed: sets the book's value in the column Calibre-Web's
   * settings name now (read afresh, so a change there applies at once), unless it is set already. Lock
   * waits end at `deadline` (monotonic ms). Never throws: the push is kept and answered whatever happens
   * here, and a problem is logged.
   */
  async markFinished(bookId: number, log: FastifyBaseLogger, deadline: number): Promise<void> {
    const budget = () => msLeft(deadline, this.deps.clock.monotonicMs());
    try {
      const columnId = readColumnFromSettings(await this.deps.appDb.reading(readSettingsRow, budget()));
      if (columnId === undefined) return;
      const { calibre, clock } = this.deps;
      const found = await retryWhileBusy(() => this.unmarked(columnId, bookId), until(clock.monotonicMs() + budget(), clock));
      if ('problem' in found) {
        log.warn(`Calibre's read column not updated: ${found.problem}`);
        return;
      }
      if (!found.column) return;
      const column = found.column;
      let waited = false;
      const onLockWait = () => {
        if (!waited) log.debug({ bookId }, `${calibre.path} is locked by another process; waiting to mark the book read`);
        waited = true;
      };
      await writeCalibreDb(calibre.path, (conn) => markRead(conn, column, bookId), { lockWaitMs: budget(), clock, onLockWait });
      log.info({ bookId, column: `#${column.label}` }, "book marked read in Calibre's read column");
    } catch (error) {
      log.warn({ err: error, bookId }, "Calibre's read column not updated");
    }
  }

  /** The column to write, none when the book is marked read already, or what is wrong with the column. */
  private unmarked(columnId: number, bookId: number): { column: ReadColumn | undefined } | { problem: string } {
    const conn = this.deps.calibre.conn;
    const found = findReadColumn(conn, columnId);
    if ('problem' in found) return found;
    return { column: isMarkedRead(conn, found.column, bookId) ? undefined : found.column };
  }
}
