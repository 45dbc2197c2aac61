import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Config } from './config.js';
import { AppDb } from './db/app-db.js';
import { CalibreDb } from './db/calibre-db.js';
import { calibreDirFromSettings, readSettingsRow } from './db/settings.js';
import { StartupError } from './db/startup-error.js';
import { StateDb } from './db/state-db.js';
import { systemClock, type Clock } from './clock.js';

export interface Databases {
  appDb: AppDb;
  stateDb: StateDb;
  /** Absent when no library is configured or its metadata.db is missing: sync works unmatched. */
  calibreDb: CalibreDb | undefined;
  close(): void;
}

export interface StartupLog {
  warn(message: string): void;
}

/** The library folder: KOSYNC_LIBRARY, else Calibre-Web's own `config_calibre_dir`. */
export function resolveLibrary(config: Pick<Config, 'library'>, appDb: AppDb): string | undefined {
  return config.library ?? calibreDirFromSettings(readSettingsRow(appDb.read.raw));
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
  const library = resolveLibrary(config, appDb);
  if (!library) {
    log.warn('no Calibre library configured (KOSYNC_LIBRARY, or config_calibre_dir in app.db): progress syncs, but no book is matched');
    return undefined;
  }
  if (!existsSync(library) || !statSync(library).isDirectory()) {
    throw new StartupError(`Calibre library folder not found: ${library} (set KOSYNC_LIBRARY to the folder holding metadata.db)`);
  }
  if (!existsSync(join(library, 'metadata.db'))) {
    log.warn(`no metadata.db in ${library}: progress syncs, but no book is matched`);
    return undefined;
  }
  return CalibreDb.open(library, clock);
}
