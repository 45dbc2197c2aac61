/**
 * Reading the `kosync_progress` rows other CWA versions leave (docs/UPSTREAM.md#cwa-rows-left-by-other-versions):
 * rows keyed by the Calibre book id, CWNG's percentage-only rows, and CWA v3.1's 0-1 fractions. Reads
 * only: the sidecar writes rows as the original does.
 */
import { storedDatetimeToEpochSeconds } from '../db/datetime.js';
import type { ProgressRow } from '../repos/progress.js';

/** CWNG's marker of a row that holds a percentage and no position a reader can go to. */
const PERCENTAGE_ONLY = 'cwng:percentage';

/** From this moment on (2025-11-09, UTC) CWA stored percentages 0–100; v3.1 stored KOReader's 0-1 fraction as sent. */
const HUNDREDS_SINCE_S = Date.UTC(2025, 10, 9) / 1000;

/**
 * Formats KOReader reads page by page (its paged document types): their position is a page number.
 * Every other format is reflowable and its position an xpointer (`/body/…`).
 */
const PAGED_FORMATS = new Set(['PDF', 'DJVU', 'DJV', 'CBZ', 'CBR', 'CB7', 'CBT', 'XPS', 'OXPS']);

/** Whether a row holds a position a reader can go to: every row but CWNG's percentage-only ones. */
export function holdsPosition(row: ProgressRow): boolean {
  return row.progress !== PERCENTAGE_ONLY;
}

/**
 * Whether a row may be served for a document of `format` (upper case). Never a percentage-only row; a
 * row stored under the book id (`bookIdKey`), which CWA shares across every format of the book, only
 * when its position is of the kind the format's reader goes to.
 */
export function servable(row: ProgressRow, format: string | undefined, bookIdKey: string | undefined): boolean {
  if (!holdsPosition(row)) return false;
  if (bookIdKey === undefined || row.document !== bookIdKey || format === undefined) return true;
  return PAGED_FORMATS.has(format) ? /^\d+$/.test(row.progress) : row.progress.startsWith('/');
}

/**
 * The 0-1 fraction a pull answers: the stored percentage / 100, except a v3.1 row's (≤ 1.0, stored
 * before 2025-11-09), which is already the fraction KOReader sent.
 */
export function answeredFraction(row: ProgressRow): number {
  const stored = storedDatetimeToEpochSeconds(row.timestamp);
  return row.percentage <= 1 && stored !== undefined && stored < HUNDREDS_SINCE_S ? row.percentage : row.percentage / 100;
}
