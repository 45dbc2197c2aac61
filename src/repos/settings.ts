import type { Connection } from '../db/query.js';

/**
 * Calibre-Web's `settings` row (one row, ConfigSQL's `_Settings`) as a plain record: a column missing
 * in an older file is simply absent, and a table without a row reads as `{}`.
 */
export function readSettingsRow(conn: Connection): Record<string, unknown> {
  return (conn.statement('SELECT * FROM settings ORDER BY id LIMIT 1').get() as Record<string, unknown> | undefined) ?? {};
}

/** `config_calibre_dir`: where Calibre-Web's library is, the default for KOSYNC_LIBRARY. */
export function calibreDirFromSettings(settings: Record<string, unknown>): string | undefined {
  const dir = settings.config_calibre_dir;
  return typeof dir === 'string' && dir.trim() !== '' ? dir : undefined;
}

/**
 * `config_read_column`: the id of the calibre yes/no column Calibre-Web keeps read status in, or
 * undefined when it keeps it in `book_read_link` (0, the default).
 */
export function readColumnFromSettings(settings: Record<string, unknown>): number | undefined {
  const id = Number(settings.config_read_column);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}
