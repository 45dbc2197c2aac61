import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

export interface FixtureCopy {
  dir: string;
  appDb: string;
  library: string | undefined;
  stateDb: string;
  remove(): void;
}

export interface FixtureOptions {
  /** Which app.db: the plain one or the LDAP-configured one. */
  app?: 'app.db' | 'app-ldap.db';
  /** Which library: with CWA's checksum table, plain calibre, or none. */
  library?: 'calibre-cwa' | 'calibre' | null;
}

/** Temp copies of the real fixture databases; tests never touch the originals. */
export function copyFixtures(options: FixtureOptions = {}): FixtureCopy {
  const dir = mkdtempSync(join(tmpdir(), 'kosync-test-'));
  cpSync(join(FIXTURES, 'calibre-web', options.app ?? 'app.db'), join(dir, 'app.db'));
  cpSync(join(FIXTURES, 'calibre-web', '.key'), join(dir, '.key'));
  const libraryName = options.library === undefined ? 'calibre-cwa' : options.library;
  let library: string | undefined;
  if (libraryName) {
    library = join(dir, 'library');
    cpSync(join(FIXTURES, libraryName), library, { recursive: true });
  }
  return {
    dir,
    appDb: join(dir, 'app.db'),
    library,
    stateDb: join(dir, 'kosync.db'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Rows read through a separate connection, as another process would see them. */
export function query<T = Record<string, unknown>>(path: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

export function execute(path: string, sql: string): void {
  const db = new Database(path);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}
