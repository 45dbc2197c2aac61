import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { holdLock, type HeldLock, type LockKind } from '../bench/lock-holder.js';
import { epochAt, SECOND, storedAt, testApp, type TestApp } from './support/app.js';
import { execute, tableRows } from './support/fixtures.js';
import { lockWaits, metricValue, scrapeMetrics } from './support/metrics.js';
import { BOOK1, BOOK1_EPUB, DAVE, get, json, put, signIn } from './support/requests.js';
import { pushedProgressRow } from './support/rows.js';

const PUSH = { document: BOOK1_EPUB, progress: 'p0.25', percentage: 0.25, device: 'KOReader', device_id: 'DEV1' };

let t: TestApp | undefined;
let lock: HeldLock | undefined;
afterEach(async () => {
  await lock?.release();
  await t?.close();
  lock = t = undefined;
});

const progressRows = () => tableRows(t!.files.appDb, 'kosync_progress');

/** A request whose completion can be checked without awaiting it. */
function pending(request: Promise<LightMyRequestResponse>) {
  const state = { settled: false };
  const done = request.finally(() => (state.settled = true));
  return {
    done,
    get settled() {
      return state.settled;
    },
  };
}

/**
 * The app with dave's login already remembered, and another process holding `kind` on app.db. Its
 * metrics are on: a test waits for a PUT's first lock wait (kosync_app_db_lock_waits_total) to know
 * that it is waiting.
 */
async function lockedApp(kind: LockKind, lockWaitMs: number) {
  t = await testApp({ env: { KOSYNC_LOCK_WAIT_MS: String(lockWaitMs), KOSYNC_METRICS: 'on' } });
  expect((await signIn(t.app, DAVE)).statusCode).toBe(200);
  lock = await holdLock(t.files.appDb, kind);
  return t;
}

describe('a lock held by another process (docs/PROTOCOL.md §4.1: waited for without blocking other requests)', () => {
  for (const kind of ['write', 'read'] as const) {
    const held = kind === 'write' ? 'its write lock (BEGIN IMMEDIATE)' : 'a read transaction (our COMMIT must wait)';
    it(`serves GETs and logins while a PUT waits for ${held}, then the PUT commits once`, async () => {
      const t = await lockedApp(kind, 30_000);
      const commitsBefore = t.databases.appDb.commits;
      const push = pending(put(t.app, PUSH));
      await vi.waitFor(async () => expect(await lockWaits(t.app)).toBeGreaterThan(0)); // the PUT is retrying its transaction

      for (let i = 0; i < 3; i++) {
        const pull = await get(t.app, BOOK1_EPUB);
        expect(pull.statusCode).toBe(200);
        expect(json(pull)).toEqual({});
        const login = await signIn(t.app, DAVE);
        expect(login.statusCode).toBe(200);
      }
      expect(push.settled).toBe(false);
      expect(t.databases.appDb.commits).toBe(commitsBefore);

      await lock!.release();
      lock = undefined;
      const response = await push.done;
      expect(response.statusCode).toBe(200);
      expect(json(response)).toEqual({ document: BOOK1_EPUB, timestamp: epochAt(0), ...BOOK1 });
      expect(t.databases.appDb.commits).toBe(commitsBefore + 1);
      expect(progressRows()).toEqual([pushedProgressRow({ percent: 25, timestamp: storedAt(0) })]);
    });
  }

  it('answers 503/1000 when the lock outlasts KOSYNC_LOCK_WAIT_MS, writes nothing, and succeeds once it is gone', async () => {
    const t = await lockedApp('write', 300);
    const refused = await put(t.app, PUSH);
    expect(refused.statusCode).toBe(503);
    expect(json(refused)).toEqual({ code: 1000, message: 'Database unavailable, try again later' });
    expect(t.databases.appDb.write.raw.inTransaction).toBe(false);

    await lock!.release();
    lock = undefined;
    expect(progressRows()).toEqual([]);
    const accepted = await put(t.app, PUSH);
    expect(accepted.statusCode).toBe(200);
    expect(progressRows()).toHaveLength(1);
  });

  it('counts the budget from arrival: PUTs queued behind a waiting one give up with it, not one budget each', async () => {
    const t = await lockedApp('write', 30_000);
    const signIns = async () => metricValue(await scrapeMetrics(t.app), 'kosync_auth_total{method="remembered",outcome="success"}');
    const first = put(t.app, { ...PUSH, progress: 'p0' });
    await vi.waitFor(async () => expect(await lockWaits(t.app)).toBeGreaterThan(0)); // the first is waiting
    const queued = Array.from({ length: 3 }, (_, i) => put(t.app, { ...PUSH, progress: `p${i + 1}` }));
    await vi.waitFor(async () => expect(await signIns()).toBe(4)); // the others arrived: their budgets run
    // Past every budget on the server's clock: all four give up now. Were a budget to start only when
    // the PUTs before it gave up, the queued ones would wait another 30 s, past this test's time limit.
    t.clock.advance(31 * SECOND);
    const pushes = [first, ...queued];
    const answers = await Promise.all(pushes);
    await lock!.release();
    lock = undefined;
    expect(answers.map((a) => [a.statusCode, json(a)])).toEqual(
      Array.from({ length: 4 }, () => [503, { code: 1000, message: 'Database unavailable, try again later' }]),
    );
    expect(progressRows()).toEqual([]);
  });
});

describe('one lock-wait budget per request (KOSYNC_LOCK_WAIT_MS for everything a request reads)', () => {
  const BUDGET_SECONDS = 60;
  const HEADER_ON =
    "UPDATE settings SET config_allow_reverse_proxy_header_login = 1, config_reverse_proxy_login_header_name = 'X-Remote-User'";
  const login = (headers: Record<string, string>) => signIn(t!.app, headers, '127.0.0.1');

  it('keeps the last Calibre-Web settings while app.db is locked, so the login answers 503 within one budget, not two', async () => {
    t = await testApp({
      library: null,
      env: { KOSYNC_LOCK_WAIT_MS: String(BUDGET_SECONDS * 1000), KOSYNC_PROXY_HEADER_LOGIN: 'true' },
      prepare: (files) => execute(files.appDb, HEADER_ON),
    });
    let arrived = 0;
    t.app.addHook('onRequest', async () => {
      arrived++;
    });
    expect((await login({ 'x-remote-user': 'dave' })).statusCode).toBe(200);
    t.clock.advance(10 * SECOND); // past the settings' maximum age: this request reads them again
    // An exclusive lock (Calibre-Web committing a large change): even reads must wait.
    lock = await holdLock(t.files.appDb, 'exclusive');
    const refused = pending(login(DAVE)); // the settings re-read, then the user lookup
    await vi.waitFor(() => expect(arrived).toBe(2)); // its budget counts from its arrival
    // Past the one budget on the server's clock: the user lookup gives up now. Had the settings re-read
    // waited a budget of its own, the lookup would start another one, past this test's time limit.
    t.clock.advance((BUDGET_SECONDS + 1) * SECOND);
    await refused.done;
    // Answered before the lock went away: the settings re-read did not wait, the user lookup used the one budget.
    expect(refused.settled).toBe(true);
    await lock.release();
    lock = undefined;
    const answer = await refused.done;
    expect([answer.statusCode, json(answer)]).toEqual([503, { code: 1000, message: 'Database unavailable, try again later' }]);
    expect((await login(DAVE)).statusCode).toBe(200);
  });
});
