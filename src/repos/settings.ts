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
