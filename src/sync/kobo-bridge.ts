import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { CalibreDb } from '../db/calibre-db.js';
import { formatSqlDatetime, storedDatetimeToEpochMicros } from '../db/datetime.js';
import type { Connection } from '../db/query.js';
import { SpineCache } from '../epub/spine-cache.js';
import { normalizeContentPath } from '../epub/spine.js';
import type { BookMatch } from '../matching/book-matcher.js';
import { findFormatPath } from '../repos/library.js';
import { hasProgressStampedBetween, listNewestProgress } from '../repos/progress.js';
import { findKoboBookmark, type KoboLocation } from '../repos/read-status.js';
import { holdsPosition } from './cwa-rows.js';

/** The formats Calibre-Web's Kobo sync sends (docs/UPSTREAM.md#calibre-web-kobo-bookmarks): EPUBs, read by spine item. */
const BRIDGED_FORMATS = new Set(['EPUB', 'EPUB3', 'KEPUB']);
/** KOReader's xpointer into an EPUB starts with the spine item it is in (docs/UPSTREAM.md#koreader-docfragments-and-the-spine). */
const DOC_FRAGMENT = /^\/body\/DocFragment\[(\d+)\]/;
/** A Kobo position of the first span of a content document: its start (docs/UPSTREAM.md#calibre-web-kobo-bookmarks). */
const CHAPTER_START = { type: 'KoboSpan', value: 'kobo.1.1', contentSourceProgressPercent: 0 } as const;
/**
 * A bookmark stamped this soon after one of the user's KOReader positions was written with it: by this
 * server in the same transaction (the same time), or by CWA's kosync.py, which commits the bookmark a
 * moment after the progress (docs/UPSTREAM.md#cwa-the-original-kosyncpy). A Kobo never writes that soon.
 */
const WRITTEN_WITH_PROGRESS_MICROS = 1_000_000;
/** Books whose spine is kept: a reader's library at hand, and then some. */
const SPINES_KEPT = 500;

/** What a pull answers for a position a Kobo wrote: its chapter's start, as KOReader jumps to it. */
export interface KoboPosition {
  progress: string;
  /** 0–1, as the protocol answers it. */
  percentage: number;
  device: 'Kobo';
  /** When the Kobo wrote it, epoch seconds. */
  timestamp: number;
}

/** A read of app.db within the request's lock budget. */
type Reading = <T>(body: (conn: Connection) => T) => Promise<T>;

/**
 * The Kobo bridge (KOSYNC_KOBO_BRIDGE, beyond the original: docs/PROTOCOL.md §7.1), at chapter level,
 * for matched EPUB and KEPUB books: KOReader's `DocFragment[N]` is spine item N−1 of the book's file,
 * and a Kobo bookmark's `Source` is a spine item's path in the same file (kepubify keeps file names).
 */
export class KoboBridge {
  private readonly spines = new SpineCache(SPINES_KEPT);

  constructor(private readonly calibre: CalibreDb) {}

  /**
   * Where a push moves the user's Kobo bookmark: the start of the spine item its xpointer is in; none
   * for another format, a progress that is no DocFragment xpointer (a PDF page), or an item the spine
   * does not have. Read before the push's transaction (the spine comes from the library's file).
   */
  async locationFor(match: BookMatch, progress: string, log: FastifyBaseLogger): Promise<KoboLocation | undefined> {
    const fragment = DOC_FRAGMENT.exec(progress);
    if (!fragment || !BRIDGED_FORMATS.has(match.format)) return undefined;
    const source = (await this.spineOf(match, log))?.[Number(fragment[1]) - 1];
    return source === undefined ? undefined : { source, ...CHAPTER_START };
  }

  /**
   * A pull's answer when the newest position of the book for the user is one a Kobo wrote through
   * Calibre-Web: its bookmark has a location, was stamped after the newest KOReader position of any of
   * `documents` (the book's in this format), and was not written along with a KOReader position (this
   * server's own writes never come back as a Kobo's). Undefined for the normal answer, also when the
   * Kobo's `Source` is not in the spine.
   */
  async positionFor(
    userId: number,
    match: BookMatch,
    documents: readonly string[],
    read: Reading,
    log: FastifyBaseLogger,
  ): Promise<KoboPosition | undefined> {
    if (!BRIDGED_FORMATS.has(match.format)) return undefined;
    let written: { source: string; percent: number; at: number } | undefined;
    try {
      written = await read((conn) => koboWritten(conn, userId, match.bookId, documents));
    } catch (error) {
      log.warn({ err: error }, 'Kobo position not read; answering the KOReader position');
      return undefined;
    }
    if (!written) return undefined;
    const index = (await this.spineOf(match, log))?.indexOf(normalizeContentPath(written.source)) ?? -1;
    if (index < 0) return undefined;
    return {
      progress: `/body/DocFragment[${index + 1}].0`,
      percentage: written.percent / 100,
      device: 'Kobo',
      timestamp: Math.floor(written.at / 1_000_000),
    };
  }

  /** The spine of the matched file; none (logged) when the library has no such file or it is no EPUB. */
  private async spineOf(match: BookMatch, log: FastifyBaseLogger): Promise<readonly string[] | undefined> {
    const { calibre, spines } = this;
    let relative: string | undefined;
    try {
      relative = findFormatPath(calibre.conn, match.bookId, match.format);
    } catch (error) {
      log.warn({ err: error }, 'library lookup failed; Kobo position not mapped');
      return undefined;
    }
    if (relative === undefined) return undefined;
    const file = join(calibre.library, relative);
    const answer = await spines.spineOf(file);
    if ('problem' in answer) {
      log.debug(`no spine in ${file}: ${answer.problem.message}; Kobo position not mapped`);
      return undefined;
    }
    return answer.spine;
  }
}

/** The user's Kobo bookmark for the book when a Kobo wrote it last (see positionFor), with its time in epoch µs. */
function koboWritten(conn: Connection, userId: number, bookId: number, documents: readonly string[]) {
  const bookmark = findKoboBookmark(conn, userId, bookId);
  if (!bookmark?.location_source || !bookmark.location_value || bookmark.progress_percent === null) return undefined;
  const at = storedDatetimeToEpochMicros(bookmark.last_modified);
  if (at === undefined) return undefined;
  // CWNG's percentage-only rows are a Kobo's or the web reader's, not a KOReader position.
  const newest = listNewestProgress(conn, userId, documents).find(holdsPosition);
  if (newest) {
    const newestAt = storedDatetimeToEpochMicros(newest.timestamp);
    if (newestAt === undefined || at <= newestAt) return undefined;
  }
  if (hasProgressStampedBetween(conn, userId, formatSqlDatetime(at - WRITTEN_WITH_PROGRESS_MICROS), formatSqlDatetime(at)))
    return undefined;
  return { source: bookmark.location_source, percent: bookmark.progress_percent, at };
}
