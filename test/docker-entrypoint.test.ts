import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { missingCommand, skipWithout } from './support/system.js';

const run = promisify(execFile);
const entrypoint = new URL('../docker/entrypoint.sh', import.meta.url).pathname;

/** The entrypoint as root, as in the container; docker/smoke.sh checks the server it starts. */
async function start(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return run('sh', [entrypoint, 'serve'], { env: { PATH: process.env.PATH, ...env } }).then(
    () => ({ code: 0, stderr: '' }),
    (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
  );
}

const asRoot = process.getuid?.() === 0;
// The entrypoint changes to PUID:PGID with setpriv (util-linux): only root can run it.
const noSetpriv = asRoot && skipWithout(missingCommand('setpriv', ['--version'], 'apt-get install util-linux'), 'the entrypoint tests');

describe.skipIf(!asRoot || noSetpriv)(
  `docker/entrypoint.sh${asRoot ? '' : ' (skipped: not running as root, as the entrypoint runs)'}`,
  () => {
    it.each([
      [{ PUID: 'abc' }, 'PUID must be a number such as 1000, the owner of /config (got PUID=abc)'],
      [{ PUID: '1:2' }, 'PUID must be a number such as 1000, the owner of /config (got PUID=1:2)'],
      [{ PUID: '1000', PGID: '-5' }, 'PGID must be a number such as 1000, the owner of /config (got PGID=-5)'],
      [{ PUID: ' 1000' }, 'PUID must be a number such as 1000, the owner of /config (got PUID= 1000)'],
      [{ PUID: '4294967295' }, 'PUID must be at most 4294967294 (got PUID=4294967295)'],
      [{ PGID: '99999999999' }, 'PGID must be at most 4294967294 (got PGID=99999999999)'],
      [{ PUID: '0' }, 'PUID=0 would run calibre-web-kosync as root; set PUID to the owner of /config, as for Calibre-Web (e.g. 1000)'],
      [{ PUID: '000' }, 'PUID=000 would run calibre-web-kosync as root; set PUID to the owner of /config, as for Calibre-Web (e.g. 1000)'],
      [{ PGID: '0' }, 'PGID=0 would run calibre-web-kosync as root; set PGID to the owner of /config, as for Calibre-Web (e.g. 1000)'],
    ])('refuses %o before starting anything, saying why', async (env, message) => {
      expect(await start(env)).toEqual({ code: 2, stderr: `calibre-web-kosync: ${message}\n` });
    });

    it.each<Record<string, string>>([{}, { PUID: '', PGID: '' }, { PUID: '4294967294', PGID: '1' }])(
      'takes %o and goes on to start the server',
      async (env) => {
        // /app/dist/src/cli.js exists only in the image: node's own error shows the entrypoint got that far.
        const started = await start(env);
        expect(started.code).toBe(1);
        expect(started.stderr).toContain("Cannot find module '/app/dist/src/cli.js'");
      },
    );
  },
);
