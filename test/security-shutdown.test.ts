import { connect } from 'node:net';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { builtCli } from './support/built-cli.js';
import { startChildServer, type ChildServer } from './support/child-server.js';
import { copyFixtures, query, type FixtureCopy } from './support/fixtures.js';
import { metricValue } from './support/metrics.js';
import { freePort } from './support/ports.js';
import { DAVE } from './support/requests.js';

const PUSH = { document: 'shutdown-doc', progress: '/body/p[9]', percentage: 0.25, device: 'shutdown-test' };

/** Whether a new TCP connection to the server is accepted. */
function accepts(origin: string): Promise<boolean> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** kosync_app_db_lock_waits_total from the server's metrics port. */
async function lockWaits(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return metricValue(text, 'kosync_app_db_lock_waits_total') ?? 0;
}

function putProgress(origin: string) {
  return fetch(`${origin}/kosync/syncs/progress`, {
    method: 'PUT',
    headers: { ...DAVE, 'content-type': 'application/json' },
    body: JSON.stringify(PUSH),
  });
}

describe('graceful shutdown of the server process', () => {
  let cli: string;
  let files: FixtureCopy | undefined;
  let server: ChildServer | undefined;
  beforeAll(() => {
    cli = builtCli();
  });
  afterEach(async () => {
    if (server?.process.exitCode === null) server.process.kill('SIGKILL');
    await server?.exited;
    files?.remove();
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s stops accepting, finishes the PUT in flight, closes the databases and exits 0',
    async (signal) => {
      files = copyFixtures({ library: null });
      const metricsPort = await freePort();
      server = await startChildServer(cli, {
        KOSYNC_APP_DB: files.appDb,
        KOSYNC_STATE_DB: files.stateDb,
        KOSYNC_LOCK_WAIT_MS: '20000',
        KOSYNC_METRICS: String(metricsPort),
      });
      expect((await fetch(`${server.origin}/kosync/users/auth`, { headers: DAVE })).status).toBe(200);

      // Calibre-Web holds the write lock, so the PUT is in flight (waiting for it) when the signal comes.
      const calibreWeb = new Database(files.appDb);
      calibreWeb.exec('BEGIN IMMEDIATE');
      const inFlight = putProgress(server.origin);
      await expect.poll(() => lockWaits(metricsPort), { timeout: 10_000 }).toBeGreaterThan(0);
      server.process.kill(signal);
      await expect.poll(() => accepts(server!.origin), { timeout: 10_000 }).toBe(false);
      calibreWeb.exec('COMMIT');
      calibreWeb.close();

      const answer = await inFlight;
      expect([answer.status, await answer.json()]).toEqual([200, { document: PUSH.document, timestamp: expect.any(Number) }]);
      expect(await server.exited).toEqual({ code: 0, signal: null });
      expect(server.output()).toContain('"msg":"databases closed, stopped"');
      expect(server.output()).not.toContain('grace period over');
      expect(query(files.appDb, 'SELECT progress FROM kosync_progress WHERE document = ?', PUSH.document)).toEqual([
        { progress: PUSH.progress },
      ]);
      expect(query(files.appDb, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    },
  );

  it('cuts a request that outlasts the grace period and still exits 0 with the databases closed', async () => {
    files = copyFixtures({ library: null });
    server = await startChildServer(cli, { KOSYNC_APP_DB: files.appDb, KOSYNC_STATE_DB: files.stateDb, KOSYNC_SHUTDOWN_GRACE: '1' });
    // A client that sends half a request and then nothing: without the grace period this connection
    // would hold the shutdown until the 30 s request timeout.
    const { hostname, port } = new URL(server.origin);
    const slow = connect(Number(port), hostname);
    await new Promise((resolve) => slow.once('connect', resolve));
    const closed = new Promise((resolve) => slow.once('close', resolve));
    // With `Expect: 100-continue` the server says when it has read the head and the request is under
    // way: from then on the connection is not idle, and only the grace period ends it.
    const underWay = new Promise((resolve) => slow.once('data', resolve));
    slow.write('PUT /kosync/syncs/progress HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n');
    expect(String(await underWay)).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    slow.write('{"doc');

    server.process.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    await closed;
    expect(server.output()).toContain('shutdown grace period over: closing open connections');
    expect(server.output()).toContain('"msg":"databases closed, stopped"');
  });
});
