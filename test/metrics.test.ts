import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { basic, testApp, type TestApp } from './support/app.js';
import { query } from './support/fixtures.js';
import { lockWaits, metricValue, scrapeMetrics } from './support/metrics.js';
import { freePort } from './support/ports.js';
import { BOOK1_EPUB, DAVE, get, put, signIn, UNKNOWN_DOC } from './support/requests.js';

let current: TestApp | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

async function start(env: Record<string, string>, logStream?: { write(line: string): void }): Promise<TestApp> {
  current = await testApp({ env, ...(logStream ? { logStream } : {}) });
  return current;
}

const scrape = (t: TestApp) => scrapeMetrics(t.app);
const value = metricValue;

const PUSH = { progress: '/body/DocFragment[3]/body/p[1]/text().0', percentage: 0.25, device: 'Kobo' };

describe('metrics', () => {
  it('are not served when KOSYNC_METRICS is off (the default)', async () => {
    const t = await start({});
    const response = await t.app.inject({ method: 'GET', url: '/kosync/metrics' });
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(response.body)).toEqual({ code: 2000, message: 'Not found' });
  });

  it('count requests by route and status, logins by method and outcome, and syncs matched or not', async () => {
    const t = await start({ KOSYNC_METRICS: 'on' });
    expect((await signIn(t.app, DAVE)).statusCode).toBe(200);
    expect((await signIn(t.app, DAVE)).statusCode).toBe(200);
    expect((await signIn(t.app, basic('dave', 'wrong'))).statusCode).toBe(401);
    expect((await signIn(t.app)).statusCode).toBe(401);
    expect((await put(t.app, { document: BOOK1_EPUB, ...PUSH })).statusCode).toBe(200);
    expect((await put(t.app, { document: UNKNOWN_DOC, ...PUSH })).statusCode).toBe(200);
    expect((await get(t.app, BOOK1_EPUB)).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/nowhere' })).statusCode).toBe(404);

    const text = await scrape(t);
    expect(value(text, 'kosync_http_requests_total{route="/kosync/users/auth",method="GET",status="200"}')).toBe(2);
    expect(value(text, 'kosync_http_requests_total{route="/kosync/users/auth",method="GET",status="401"}')).toBe(2);
    expect(value(text, 'kosync_http_requests_total{route="/kosync/syncs/progress",method="PUT",status="200"}')).toBe(2);
    expect(value(text, 'kosync_http_requests_total{route="/kosync/syncs/progress/:document",method="GET",status="200"}')).toBe(1);
    expect(value(text, 'kosync_http_requests_total{route="unmatched",method="GET",status="404"}')).toBe(1);
    expect(value(text, 'kosync_auth_total{method="basic",outcome="success"}')).toBe(1);
    expect(value(text, 'kosync_auth_total{method="remembered",outcome="success"}')).toBe(4);
    expect(value(text, 'kosync_auth_total{method="basic",outcome="failure"}')).toBe(1);
    expect(value(text, 'kosync_auth_total{method="none",outcome="failure"}')).toBe(1);
    expect(value(text, 'kosync_password_verification_seconds_count{outcome="success"}')).toBe(1);
    expect(value(text, 'kosync_password_verification_seconds_count{outcome="failure"}')).toBe(1);
    expect(value(text, 'kosync_syncs_total{operation="push",matched="true"}')).toBe(1);
    expect(value(text, 'kosync_syncs_total{operation="push",matched="false"}')).toBe(1);
    expect(value(text, 'kosync_syncs_total{operation="pull",matched="true"}')).toBe(1);
    expect(value(text, 'kosync_app_db_lock_waits_total')).toBe(0);
    expect(value(text, 'kosync_process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('count the waits of a sync that finds app.db locked by another process', async () => {
    const t = await start({ KOSYNC_METRICS: 'on' });
    expect((await signIn(t.app, DAVE)).statusCode).toBe(200);
    const calibreWeb = new Database(t.files.appDb);
    try {
      calibreWeb.exec('BEGIN IMMEDIATE');
      const pending = put(t.app, { document: UNKNOWN_DOC, ...PUSH });
      await vi.waitFor(async () => expect(await lockWaits(t.app)).toBeGreaterThan(0), { timeout: 10_000 });
      calibreWeb.exec('COMMIT');
      expect((await pending).statusCode).toBe(200);
    } finally {
      calibreWeb.close();
    }
    expect(value(await scrape(t), 'kosync_app_db_lock_waits_total')).toBeGreaterThan(0);
  });

  it('report the size of the checksum index kept in the state database', async () => {
    const t = await start({ KOSYNC_METRICS: 'on' });
    await t.app.ready();
    await vi.waitFor(
      async () => {
        const text = await scrape(t);
        const [files] = query<{ n: number }>(t.files.stateDb, 'SELECT count(*) AS n FROM library_files');
        const [documents] = query<{ n: number }>(t.files.stateDb, 'SELECT count(*) AS n FROM document_ids');
        expect(files!.n).toBe(6);
        expect(value(text, 'kosync_checksum_index_rows{table="library_files"}')).toBe(files!.n);
        expect(value(text, 'kosync_checksum_index_rows{table="document_ids"}')).toBe(documents!.n);
      },
      { timeout: 10_000, interval: 100 },
    );
  });

  it('can be served alone on a port of their own, and then not on the main port', async () => {
    const port = await freePort();
    const t = await start({ KOSYNC_METRICS: String(port), KOSYNC_HOST: '127.0.0.1' });
    expect((await t.app.inject({ method: 'GET', url: '/kosync/metrics' })).statusCode).toBe(404);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await response.text()).toContain('# TYPE kosync_http_requests_total counter');
    expect((await fetch(`http://127.0.0.1:${port}/kosync/metrics`)).status).toBe(404);
  });
});

describe('request log', () => {
  it('writes one JSON line per request with user, route, status and duration, and no credentials', async () => {
    const lines: string[] = [];
    const t = await start({ KOSYNC_LOG_LEVEL: 'info' }, { write: (line) => void lines.push(line) });
    const secret = basic('dave', 'oldtimer');
    expect((await put(t.app, { document: BOOK1_EPUB, ...PUSH }, secret)).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/kosync/users/auth?token=abc', headers: basic('dave', 'nope') })).statusCode).toBe(
      401,
    );

    const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({
      level: 30,
      user: 'dave',
      method: 'PUT',
      route: '/kosync/syncs/progress',
      path: '/kosync/syncs/progress',
      status: 200,
    });
    expect(requests[0]!.ms).toEqual(expect.any(Number));
    expect(requests[1]).toMatchObject({ method: 'GET', route: '/kosync/users/auth', path: '/kosync/users/auth', status: 401 });
    expect(requests[1]).not.toHaveProperty('user');
    const all = lines.join('');
    for (const leak of ['oldtimer', 'nope', secret.authorization, 'authorization', 'token=abc']) expect(all).not.toContain(leak);
  });
});
