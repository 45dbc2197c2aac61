import type Database from 'better-sqlite3';

/** Calibre-Web's `settings` row as a plain record; columns missing in old files are simply absent. */
export function readSettingsRow(raw: Database.Database): Record<string, unknown> {
  try {
    return (raw.prepare('SELECT * FROM settings ORDER BY id LIMIT 1').get() as Record<string, unknown>) ?? {};
  } catch {
    return {};
  }
}

/** `config_calibre_dir`: where Calibre-Web's library is, the default for KOSYNC_LIBRARY. */
export function calibreDirFromSettings(settings: Record<string, unknown>): string | undefined {
  const dir = settings.config_calibre_dir;
  return typeof dir === 'string' && dir.trim() !== '' ? dir : undefined;
}
