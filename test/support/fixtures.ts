import { randomUUID } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { fileHash } from './metadata-guard.js';

export const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

/** The fixture app.db's ids for dave and erin. */
export const DAVE_ID = 6;
export const ERIN_ID = 7;

export interface FixtureCopy {
  dir: string;
  appDb: string;
  library: string | undefined;
  stateDb: string;
  remove(): void;
}

export interface FixtureOptions {
  /**
   * Which app.db: plain, LDAP-configured, keeping read status in Calibre's "Read" column
   * (`config_read_column` 1), or with the progress rows other CWA versions leave.
   */
  app?: 'app.db' | 'app-ldap.db' | 'app-readcol.db' | 'app-cwa-rows.db';
  /** Which library: with CWA's checksum table, plain calibre, plain calibre with a yes/no column `#read` (book 5 read), or none. */
  library?: 'calibre-cwa' | 'calibre' | 'calibre-readcol' | null;
  /** The test itself changes metadata.db as calibre would; otherwise the copy must stay byte-identical. */
  calibreWrites?: boolean;
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
    remove: () => {
      // metadata.db is calibre's, opened read-only: a test that changed the copy found a bug.
      const copy = library === undefined ? undefined : join(library, 'metadata.db');
      const changed =
        copy !== undefined &&
        !options.calibreWrites &&
        existsSync(copy) &&
        fileHash(copy) !== fileHash(join(FIXTURES, libraryName!, 'metadata.db'));
      rmSync(dir, { recursive: true, force: true });
      if (changed) throw new Error(`the test changed its copy of ${libraryName}/metadata.db, which must stay byte-identical`);
    },
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

/** Every row of `table`, in id order. */
export function tableRows(path: string, table: string): Record<string, unknown>[] {
  return query(path, `SELECT * FROM ${table} ORDER BY id`);
}

export function execute(path: string, sql: string): void {
  const db = new Database(path);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

/** Writes to a temp copy of metadata.db as calibre would (its triggers need these functions). */
export function calibreWrite(library: string, sql: string): void {
  const db = new Database(join(library, 'metadata.db'));
  db.function('title_sort', (title: unknown) => String(title));
  db.function('uuid4', () => randomUUID());
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

/**
 * Book 6 in a temp copy of the library: a second "The Quiet Lighthouse" by Mara Ellison (a duplicate
 * import), whose EPUB is the older revision of book 1's and has the same file name.
 */
export function addSecondLighthouse(library: string): void {
  calibreWrite(
    library,
    `INSERT INTO books (id, title, author_sort, path)
       VALUES (6, 'The Quiet Lighthouse', 'Ellison, Mara', 'Mara Ellison/The Quiet Lighthouse (6)');
     INSERT INTO books_authors_link (book, author) VALUES (6, 1);
     INSERT INTO data (book, format, uncompressed_size, name) VALUES (6, 'EPUB', 1641, 'The Quiet Lighthouse - Mara Ellison');`,
  );
  const folder = join(library, 'Mara Ellison', 'The Quiet Lighthouse (6)');
  mkdirSync(folder);
  copyFileSync(join(FIXTURES, 'books', 'the-quiet-lighthouse.rev1.epub'), join(folder, 'The Quiet Lighthouse - Mara Ellison.epub'));
}
