import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { localPasswordVerifier } from '../src/auth/password-verifier.js';
import { T0, testApp, type TestApp } from './support/app.js';
import { builtCli } from './support/built-cli.js';
import { startChildServer } from './support/child-server.js';
import { copyFixtures, query, type FixtureCopy } from './support/fixtures.js';
import { DAVE, json, put, signIn } from './support/requests.js';
import { missingFile, skipWithout } from './support/system.js';

/** 2027-03-01 08:00:00 UTC: where an NTP step moves a clock that started at T0 (2026-11-28). */
const LATER = Date.UTC(2027, 2, 1, 8) * 1000;
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';

let t: TestApp | undefined;
let files: FixtureCopy | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  files?.remove();
  files = undefined;
});

const timestampOf = (appDb: string, document: string) =>
  query<{ timestamp: string }>(appDb, 'SELECT timestamp FROM kosync_progress WHERE document = ?', document)[0]?.timestamp;

const noFaketime = skipWithout(missingFile(LIBFAKETIME, 'apt-get install faketime; .ci/run does'), 'the libfaketime test');

describe('time from the wall clock', () => {
  it('stores and answers the wall-clock time of each push, also after the clock is set while running', async () => {
    t = await testApp();
    const push = (document: string) => put(t!.app, { document, progress: '/body/p[1]', percentage: 0.5, device: 'Kobo' });

    expect(json(await push('before-step'))).toEqual({ document: 'before-step', timestamp: Math.floor(T0 / 1e6) });
    t.clock.setWall(LATER);
    expect(json(await push('after-step'))).toEqual({ document: 'after-step', timestamp: LATER / 1e6 });

    expect(timestampOf(t.files.appDb, 'before-step')).toBe('2026-11-28 15:21:55.781869');
    expect(timestampOf(t.files.appDb, 'after-step')).toBe('2027-03-01 08:00:00.000000');
  });

  it('keeps remembered logins when the wall clock jumps: their lifetime is monotonic time', async () => {
    const verified: string[] = [];
    t = await testApp({
      verifyPassword: async (user, password) => {
        verified.push(user.name);
        return localPasswordVerifier(user, password);
      },
    });
    const auth = async () => (await signIn(t!.app, DAVE)).statusCode;

    expect(await auth()).toBe(200);
    t.clock.setWall(T0 + 365 * 24 * 3600 * 1e6); // a year ahead: past the 12 h remember time if it were wall time
    expect(await auth()).toBe(200);
    expect(verified).toEqual(['dave']);

    t.clock.advance(13 * 3600 * 1e6); // 13 h of real (monotonic) time: forgotten, verified again
    expect(await auth()).toBe(200);
    expect(verified).toEqual(['dave', 'dave']);
  });

  it.skipIf(noFaketime)('writes the new time after the host clock is set while the process runs (libfaketime)', async () => {
    files = copyFixtures();
    const fakeTime = join(files.dir, 'faketime');
    writeFileSync(fakeTime, '@2020-01-01 00:00:00\n');
    const server = await startChildServer(builtCli(), {
      KOSYNC_APP_DB: files.appDb,
      KOSYNC_STATE_DB: files.stateDb,
      KOSYNC_LIBRARY: files.library!,
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: fakeTime,
      FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    });
    try {
      const push = async (document: string) => {
        const response = await fetch(`${server.origin}/kosync/syncs/progress`, {
          method: 'PUT',
          headers: { ...DAVE, 'content-type': 'application/json' },
          body: JSON.stringify({ document, progress: '/body/p[1]', percentage: 0.5, device: 'Kobo' }),
        });
        return { status: response.status, body: (await response.json()) as { timestamp: number } };
      };
      const first = await push('before-ntp');
      expect(first.status).toBe(200);
      expect(timestampOf(files.appDb, 'before-ntp')).toMatch(/^(2019-12-31 23:59:59|2020-01-01 00:0\d:\d\d)\.\d{6}$/);

      writeFileSync(fakeTime, '@2026-06-01 12:30:00\n');
      const second = await push('after-ntp');
      expect(second.status).toBe(200);
      // libfaketime may start a hair early
      expect(timestampOf(files.appDb, 'after-ntp')).toMatch(/^2026-06-01 12:(29:59|3\d:\d\d)\.\d{6}$/);
      expect(Math.abs(second.body.timestamp - Date.UTC(2026, 5, 1, 12, 30) / 1000)).toBeLessThan(60);
    } finally {
      server.process.kill('SIGTERM');
      await server.exited;
    }
  });
});
