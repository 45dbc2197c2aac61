import { copyFileSync, mkdirSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SECOND, testApp, type TestApp } from './support/app.js';
import { query } from './support/fixtures.js';
import { bindReadOnly, cannotMakeImmutable, cannotMount, fillDisk, mountTmpfs, NOT_ROOT, setImmutable, unmount } from './support/mounts.js';
import { BOOK1_EPUB, get, healthcheck, json, put, UNAVAILABLE, UNKNOWN_DOC } from './support/requests.js';
import { skipWithout } from './support/system.js';

// Mounts and chattr +i need root: as another user those tests are skipped, and their names say so.
const skippedAsUser = NOT_ROOT ? ` (skipped: ${NOT_ROOT})` : '';
const noMount = NOT_ROOT !== undefined || skipWithout(cannotMount(), 'the disk-full and read-only tests');
const noChattr = NOT_ROOT !== undefined || skipWithout(cannotMakeImmutable(), 'the I/O error test');

interface LogLine {
  level: number;
  msg: string;
  err?: { message?: string };
}

/** The app with app.db alone in a folder of its own (mounts laid over it stay clear of the state DB). */
interface Setup {
  t: TestApp;
  folder: string;
  appDb: string;
  logs: LogLine[];
  /** Paths with something mounted on them, taken away (last first) by close(). */
  mounts: string[];
  immutable: string[];
  close(): Promise<void>;
}

let setup: Setup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

/** `prepareFolder` runs before app.db is copied in; it records what it mounts in `mounts`. */
async function appInOwnFolder(prepareFolder: (folder: string, mounts: string[]) => void = () => {}): Promise<Setup> {
  const logs: LogLine[] = [];
  const mounts: string[] = [];
  const immutable: string[] = [];
  let folder = '';
  const t = await testApp({
    library: null,
    env: { KOSYNC_LOG_LEVEL: 'info' },
    logStream: { write: (line) => void logs.push(JSON.parse(line) as LogLine) },
    prepare: (files) => {
      folder = join(files.dir, 'calibre-web');
      mkdirSync(folder);
      prepareFolder(folder, mounts);
      copyFileSync(files.appDb, join(folder, 'app.db'));
      return { KOSYNC_APP_DB: join(folder, 'app.db') };
    },
  });
  setup = {
    t,
    folder,
    appDb: join(folder, 'app.db'),
    logs,
    mounts,
    immutable,
    close: async () => {
      await t.app.close();
      t.databases.close();
      for (const file of immutable) setImmutable(file, false);
      for (const path of mounts.reverse()) unmount(path);
      t.files.remove();
    },
  };
  return setup;
}

const PUSH = (document: string, percentage: number) => ({ document, progress: `p${percentage}`, percentage, device: 'KOReader' });
const health = (s: Setup) => healthcheck(s.t.app);
const statusOf = async (response: Promise<{ statusCode: number }>) => (await response).statusCode;
const errorLines = (s: Setup) => s.logs.filter((l) => l.level === 50).map((l) => l.msg);
const progressRows = (s: Setup) => query(s.appDb, 'SELECT document, progress FROM kosync_progress ORDER BY id');

describe('app.db cannot be written: 503/1000 with the cause logged, and the healthcheck says so', () => {
  it.skipIf(noMount)(
    `answers 503/1000 on a full disk, logs SQLITE_FULL, and is healthy again once space is freed${skippedAsUser}`,
    async () => {
      const s = await appInOwnFolder((folder, mounts) => {
        mountTmpfs(folder, '1m');
        mounts.push(folder);
      });
      expect(await statusOf(put(s.t.app, PUSH(UNKNOWN_DOC, 0.1)))).toBe(200);
      fillDisk(join(s.folder, 'filler'));

      // Two PUTs in one group commit, one with a read-status step: neither is acknowledged.
      const answers = await Promise.all([put(s.t.app, PUSH(BOOK1_EPUB, 0.5)), put(s.t.app, PUSH(UNKNOWN_DOC, 0.6))]);
      expect(answers.map((a) => [a.statusCode, json(a)])).toEqual([
        [503, UNAVAILABLE],
        [503, UNAVAILABLE],
      ]);
      const cause = `writing ${s.appDb} failed: the disk is full (SQLITE_FULL: database or disk is full)`;
      expect(errorLines(s)).toEqual([cause, cause]);
      expect(s.logs.filter((l) => JSON.stringify(l).includes('savepoint'))).toEqual([]);
      // Pulls and logins go on: reading needs no space.
      expect(await statusOf(get(s.t.app, UNKNOWN_DOC))).toBe(200);
      const sick = await health(s);
      expect([sick.statusCode, json(sick)]).toEqual([503, UNAVAILABLE]);

      unlinkSync(join(s.folder, 'filler'));
      // The probe write runs at most once a second.
      expect((await health(s)).statusCode).toBe(503);
      s.t.clock.advance(SECOND);
      const healthy = await health(s);
      expect([healthy.statusCode, json(healthy)]).toEqual([200, { state: 'OK' }]);
      expect(await statusOf(put(s.t.app, PUSH(UNKNOWN_DOC, 0.7)))).toBe(200);
      expect(progressRows(s)).toEqual([{ document: UNKNOWN_DOC, progress: 'p0.7' }]);
      expect(query(s.appDb, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    },
  );

  it.skipIf(noMount)(`answers 503/1000 while the folder is read-only (no journal can be made), and recovers${skippedAsUser}`, async () => {
    const s = await appInOwnFolder();
    bindReadOnly(s.folder);
    s.mounts.push(s.folder);

    const refused = await put(s.t.app, PUSH(BOOK1_EPUB, 0.5));
    expect([refused.statusCode, json(refused)]).toEqual([503, UNAVAILABLE]);
    expect(errorLines(s)).toEqual([
      `writing ${s.appDb} failed: a file cannot be opened or created (the journal beside it: is the folder read-only?) ` +
        '(SQLITE_CANTOPEN: unable to open database file)',
    ]);
    expect(await statusOf(get(s.t.app, BOOK1_EPUB))).toBe(200);
    expect((await health(s)).statusCode).toBe(503);

    unmount(s.folder);
    s.mounts.pop();
    s.t.clock.advance(SECOND);
    expect((await health(s)).statusCode).toBe(200);
    expect(await statusOf(put(s.t.app, PUSH(BOOK1_EPUB, 0.5)))).toBe(200);
    expect(progressRows(s)).toEqual([{ document: BOOK1_EPUB, progress: 'p0.5' }]);
  });

  it.skipIf(noMount)(
    `answers 503/1000 when app.db is replaced by a read-only file, naming it once, and recovers${skippedAsUser}`,
    async () => {
      const s = await appInOwnFolder();
      const copy = join(s.folder, 'restored.db');
      copyFileSync(s.appDb, copy);
      renameSync(copy, s.appDb);
      bindReadOnly(s.appDb);
      s.mounts.push(s.appDb);

      for (const response of [await put(s.t.app, PUSH(UNKNOWN_DOC, 0.5)), await health(s)]) {
        expect([response.statusCode, json(response)]).toEqual([503, UNAVAILABLE]);
      }
      const named =
        `app.db is not readable and writable by this process: ${s.appDb} (check the file owner, or PUID/PGID); ` +
        'answering 503 until a usable app.db is there';
      expect(s.logs.filter((l) => l.msg === named).map((l) => l.level)).toEqual([40]);

      unmount(s.appDb);
      s.mounts.pop();
      s.t.clock.advance(SECOND);
      expect((await health(s)).statusCode).toBe(200);
      expect(await statusOf(put(s.t.app, PUSH(UNKNOWN_DOC, 0.5)))).toBe(200);
    },
  );

  it.skipIf(noChattr)(
    `answers 503/1000 on an I/O error, logs SQLITE_IOERR, and recovers without losing an acknowledged write${skippedAsUser}`,
    async () => {
      const s = await appInOwnFolder();
      expect(await statusOf(put(s.t.app, PUSH(BOOK1_EPUB, 0.25)))).toBe(200);
      // An immutable file refuses every write, even root's: the COMMIT's write fails with EPERM.
      setImmutable(s.appDb, true);
      s.immutable.push(s.appDb);

      const refused = await put(s.t.app, PUSH(BOOK1_EPUB, 0.5));
      expect([refused.statusCode, json(refused)]).toEqual([503, UNAVAILABLE]);
      expect(errorLines(s)[0]).toBe(`writing ${s.appDb} failed: an I/O error (SQLITE_IOERR_WRITE: disk I/O error)`);
      expect((await health(s)).statusCode).toBe(503);

      setImmutable(s.appDb, false);
      s.immutable.pop();
      s.t.clock.advance(SECOND);
      expect((await health(s)).statusCode).toBe(200);
      // SQLite rolled the half-written commit back from its journal: the refused PUT left nothing.
      expect(progressRows(s)).toEqual([{ document: BOOK1_EPUB, progress: 'p0.25' }]);
      expect(await statusOf(put(s.t.app, PUSH(BOOK1_EPUB, 0.75)))).toBe(200);
      expect(progressRows(s)).toEqual([{ document: BOOK1_EPUB, progress: 'p0.75' }]);
      expect(query(s.appDb, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    },
  );
});

describe('the healthcheck without failures', () => {
  it('never writes to app.db', async () => {
    const s = await appInOwnFolder();
    const before = s.t.databases.appDb.commits;
    for (let i = 0; i < 3; i++) expect((await health(s)).statusCode).toBe(200);
    expect(s.t.databases.appDb.commits).toBe(before);
  });
});
