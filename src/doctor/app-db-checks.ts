import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { type AppDbTables, inspectAppTables } from '../db/app-db.js';
import { Connection } from '../db/query.js';
import { readSettingsRow } from '../repos/settings.js';
import { cwaRowsFinding, uniqueIndexFindings } from './cwa-rows-check.js';
import { fail, note, ok, type Finding } from './findings.js';

const PROGRESS_COLUMNS = ['id', 'user_id', 'document', 'progress', 'percentage', 'device', 'device_id', 'timestamp'];

interface AppDbInspection {
  findings: Finding[];
  /** The `settings` row, when app.db could be read. */
  settings: Record<string, unknown> | undefined;
}

export function canAccess(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

export function whoAmI(): string {
  return process.getuid && process.getgid ? `uid ${process.getuid()}, gid ${process.getgid()}` : 'this user';
}

/** app.db checked the way the server will use it, through a read-only connection: nothing is written. */
export function inspectAppDb(path: string | undefined): AppDbInspection {
  const findings: Finding[] = [];
  const done = (settings?: Record<string, unknown>) => ({ findings, settings });
  if (!path) {
    findings.push(
      fail(
        'KOSYNC_APP_DB is not set: `serve` would run the demo instead of syncing your Calibre-Web (in the container it is /config/app.db)',
      ),
    );
    return done();
  }
  if (!existsSync(path)) {
    findings.push(fail(`app.db not found at ${path} (set KOSYNC_APP_DB to the app.db of Calibre-Web, in its config folder)`));
    return done();
  }
  if (!statSync(path).isFile()) {
    findings.push(fail(`${path} is not a file`));
    return done();
  }
  const readable = canAccess(path, constants.R_OK);
  const writable = canAccess(path, constants.W_OK);
  if (!readable || !writable) {
    const missing = [!readable && 'readable', !writable && 'writable'].filter(Boolean).join(' or ');
    findings.push(fail(`app.db ${path} is not ${missing} by ${whoAmI()}: run as the user that owns it (PUID/PGID in the container)`));
    if (!readable) return done();
  } else {
    findings.push(ok(`app.db ${path}: found, readable and writable`));
  }
  const folder = dirname(path);
  findings.push(
    canAccess(folder, constants.W_OK)
      ? ok(`folder ${folder} is writable (SQLite puts app.db's journal there during a write)`)
      : fail(`folder ${folder} is not writable by ${whoAmI()}: SQLite cannot create app.db's journal there, so no write can commit`),
  );

  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    findings.push(fail(`app.db cannot be opened: ${(error as Error).message}`));
    return done();
  }
  const conn = new Connection(db);
  try {
    let found: AppDbTables;
    try {
      found = inspectAppTables(conn);
    } catch (error) {
      found = { notSqlite: error as Error }; // locked past the connection's busy timeout
    }
    if ('notSqlite' in found) {
      findings.push(fail(`${path} is not a SQLite database: ${found.notSqlite.message}`));
      return done();
    }
    const { tables, missing } = found;
    if (missing.length > 0) {
      findings.push(fail(`${path} is not Calibre-Web's app.db: no table ${missing.join(', ')}`));
      return done();
    }
    const { users } = db.prepare('SELECT count(*) AS users FROM user').get() as { users: number };
    findings.push(ok(`it is Calibre-Web's app.db (${users} user${users === 1 ? '' : 's'})`));
    const progress = progressTableFinding(db, tables.has('kosync_progress'));
    findings.push(progress);
    if (tables.has('kosync_progress') && progress.level === 'ok') {
      const rows = cwaRowsFinding(db);
      if (rows) findings.push(rows);
    }
    findings.push(...uniqueIndexFindings(db, tables));
    const mode = db.pragma('journal_mode', { simple: true }) as string;
    findings.push(note(`journal mode: ${mode} (left as Calibre-Web set it)`));
    return done(tables.has('settings') ? readSettingsRow(conn) : {});
  } finally {
    conn.close();
  }
}

/** Which of CWA's kosync_progress DDLs this is (docs/UPSTREAM.md#cwa-kosync_progress), or that the server will create it. */
function progressTableFinding(db: Database.Database, present: boolean): Finding {
  if (!present) return ok("kosync_progress: absent, will be created at the first start with CWA's DDL");
  const columns = (db.prepare(`SELECT name FROM pragma_table_info('kosync_progress')`).all() as { name: string }[]).map((c) => c.name);
  const missing = PROGRESS_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length > 0)
    return fail(`kosync_progress has no column ${missing.join(', ')}: not a form CWA ever created, progress cannot be written`);
  const { sql } = db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'kosync_progress'`).get() as { sql: string };
  const { rows } = db.prepare('SELECT count(*) AS rows FROM kosync_progress').get() as { rows: number };
  const variant = /AUTOINCREMENT/i.test(sql)
    ? "B (CWA's migrated form, with indexes)"
    : /ON\s+DELETE\s+CASCADE/i.test(sql)
      ? "A (CWA's current form)"
      : 'C (the v3.1 form, no cascade)';
  return ok(`kosync_progress: present, variant ${variant}, ${rows} row${rows === 1 ? '' : 's'}`);
}
