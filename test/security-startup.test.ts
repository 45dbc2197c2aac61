import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli } from './support/built-cli.js';
import { runCli, startChildServer } from './support/child-server.js';
import { copyFixtures } from './support/fixtures.js';
import { DAVE } from './support/requests.js';

const isRoot = process.getuid?.() === 0;

describe('start-up checks, through the built CLI', () => {
  let cli: string;
  let scratch: string;
  beforeAll(() => {
    cli = builtCli();
    scratch = mkdtempSync(join(tmpdir(), 'kosync-startup-cli-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const serve = (env: Record<string, string>) => runCli(cli, ['serve'], { KOSYNC_PORT: '0', KOSYNC_HOST: '127.0.0.1', ...env });

  it('stops with exit 1 naming an app.db that is a folder', async () => {
    const folder = join(scratch, 'folder.db');
    mkdirSync(folder);
    expect(await serve({ KOSYNC_APP_DB: folder })).toEqual({
      code: 1,
      stdout: '',
      stderr: `calibre-web-kosync: app.db is not a file: ${folder}\n`,
    });
  });

  it('stops with exit 1 naming an app.db that is not a SQLite file', async () => {
    const garbage = join(scratch, 'garbage.db');
    writeFileSync(garbage, 'this is not a database, just text long enough to have a header '.repeat(20));
    const result = await serve({ KOSYNC_APP_DB: garbage });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`calibre-web-kosync: app.db is not a SQLite database: ${garbage}: file is not a database\n`);
  });

  it.skipIf(isRoot)('stops with exit 1 naming an app.db this user may not read (skipped as root, who may read anything)', async () => {
    const files = copyFixtures({ library: null });
    try {
      chmodSync(files.appDb, 0o000);
      expect(await serve({ KOSYNC_APP_DB: files.appDb })).toEqual({
        code: 1,
        stdout: '',
        stderr:
          `calibre-web-kosync: app.db is not readable and writable by this process: ${files.appDb} ` +
          '(check the file owner, or PUID/PGID)\n',
      });
    } finally {
      files.remove();
    }
  });

  it('stops with exit 1 naming a state database that cannot be written', async () => {
    const files = copyFixtures({ library: null });
    try {
      const state = join(scratch, 'no-such-folder', 'kosync.db');
      expect(await serve({ KOSYNC_APP_DB: files.appDb, KOSYNC_STATE_DB: state })).toEqual({
        code: 1,
        stdout: '',
        stderr: `calibre-web-kosync: state database is not writable: ${state} (set KOSYNC_STATE_DB to a writable file)\n`,
      });
    } finally {
      files.remove();
    }
  });

  it('serves unmatched, with a warning naming the folder, when the library has no metadata.db', async () => {
    const files = copyFixtures({ library: null });
    const library = join(scratch, 'empty-library');
    mkdirSync(library);
    const server = await startChildServer(cli, { KOSYNC_APP_DB: files.appDb, KOSYNC_STATE_DB: files.stateDb, KOSYNC_LIBRARY: library });
    try {
      expect(server.output()).toContain(`"level":40`);
      expect(server.output()).toContain(`no metadata.db in ${library}: progress syncs, but no book is matched`);
      const pushed = await fetch(`${server.origin}/kosync/syncs/progress`, {
        method: 'PUT',
        headers: { ...DAVE, 'content-type': 'application/json' },
        body: JSON.stringify({ document: 'e1dbc3a8ba7a76e2bc720bd6815715b0', progress: '3', percentage: 0.5, device: 'cli-test' }),
      });
      expect([pushed.status, Object.keys((await pushed.json()) as object)]).toEqual([200, ['document', 'timestamp']]);
    } finally {
      server.process.kill('SIGTERM');
      await server.exited;
      files.remove();
    }
  });
});
