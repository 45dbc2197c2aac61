import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Config } from './config.js';
import { AppDb } from './db/app-db.js';
import { CalibreDb } from './db/calibre-db.js';
import { StartupError } from './db/startup-error.js';
import { StateDb } from './db/state-db.js';
import { calibreDirFromSettings, readSettingsRow } from './repos/settings.js';
import { systemClock, type Clock } from './clock.js';

export interface Databases {
  appDb: AppDb;
  stateDb: StateDb;
  /** Absent when no library is configured or its metadata.db is missing: sync works unmatched. */
  calibreDb: CalibreDb | undefined;
  close(): void;
}

interface StartupLog {
  warn(message: string): void;
}

/**
 * Where the Calibre library is: KOSYNC_LIBRARY, else Calibre-Web's own `config_calibre_dir`; `found`
 * when the folder holds a metadata.db. Otherwise the rule that applies: without a library, or without
 * metadata.db in it, progress syncs unmatched (`serve` warns); a configured folder that is not there
 * stops the server (`remedy` says what to set).
 */
type LibraryLocation =
  | { found: string }
  | { found: undefined; blocking: false; message: string }
  | { found: undefined; blocking: true; message: string; remedy: string };

export function locateLibrary(configured: string | undefined, settings: Record<string, unknown>): LibraryLocation {
  const library = configured ?? calibreDirFromSettings(settings);
  if (!library) {
    const message =
      'no Calibre library: neither KOSYNC_LIBRARY nor config_calibre_dir in app.db is set; progress syncs, but no book is matched';
    return { found: undefined, blocking: false, message };
  }
  if (!existsSync(library) || !statSync(library).isDirectory()) {
    const message = `Calibre library folder not found: ${library}`;
    return { found: undefined, blocking: true, message, remedy: 'set KOSYNC_LIBRARY to the folder holding metadata.db' };
  }
  if (!existsSync(join(library, 'metadata.db'))) {
    return { found: undefined, blocking: false, message: `no metadata.db in ${library}: progress syncs, but no book is matched` };
  }
  return { found: library };
}

/** The settings row, or none when app.db has no readable `settings` table. */
function settingsOf(appDb: AppDb): Record<string, unknown> {
  try {
    return readSettingsRow(appDb.read);
  } catch {
    return {};
  }
}

export function defaultStatePath(appDbPath: string): string {
  return join(dirname(resolve(appDbPath)), 'kosync.db');
}

/** Opens everything the server needs, or throws a StartupError that names the path at fault. */
export function openDatabases(config: Config, log: StartupLog, clock: Clock = systemClock): Databases {
  if (!config.appDb) throw new StartupError('KOSYNC_APP_DB is not set');
  const appDb = AppDb.open(config.appDb, clock);
  const opened: { close(): void }[] = [appDb];
  try {
    // busy_timeout 0: a lock another process holds on it is waited for between event-loop turns.
    const stateDb = StateDb.open(config.stateDb ?? defaultStatePath(config.appDb), { clock, busyTimeoutMs: 0 });
    opened.push(stateDb);
    const calibreDb = openLibrary(config, appDb, log, clock);
    if (calibreDb) opened.push(calibreDb);
    return {
      appDb,
      stateDb,
      calibreDb,
      close: () => {
        for (const db of opened.reverse()) db.close();
      },
    };
  } catch (error) {
    for (const db of opened.reverse()) db.close();
    throw error;
  }
}

function openLibrary(config: Config, appDb: AppDb, log: StartupLog, clock: Clock): CalibreDb | undefined {
  const location = locateLibrary(config.library, settingsOf(appDb));
  if (location.found !== undefined) return CalibreDb.open(location.found, clock);
  if (location.blocking) throw new StartupError(`${location.message} (${location.remedy})`);
  log.warn(location.message);
  return undefined;
}
