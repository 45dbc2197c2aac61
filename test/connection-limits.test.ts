import { execFileSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { proxyPeers } from '../src/http/connection-limits.js';
import { fileLimitWarning, openFileLimit } from '../src/http/file-limit.js';
import { testApp, type TestApp } from './support/app.js';
import { builtCli } from './support/built-cli.js';
import { startChildServer, type ChildServer } from './support/child-server.js';
import { copyFixtures, type FixtureCopy } from './support/fixtures.js';
import { listenOnLoopback } from './support/ports.js';
import { DAVE } from './support/requests.js';
import { missingCommand, skipWithout } from './support/system.js';

const REFUSED = { code: 1000, message: 'Too many connections, try again later' };

/** A client connection kept open, whose close by the server can be awaited. */
interface Client {
  socket: Socket;
  closed: Promise<void>;
  readonly isClosed: boolean;
  /** Everything received so far. */
  readonly received: string;
  /** Resolves once `text` has arrived (or rejects when the connection closes first). */
  until(text: string): Promise<string>;
}

function open(port: number, localAddress = '127.0.0.1'): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let received = '';
    let isClosed = false;
    let waiters: (() => void)[] = [];
    const wake = () => {
      const waiting = waiters;
      waiters = [];
      for (const waiter of waiting) waiter();
    };
    const closed = new Promise<void>((done) =>
      socket.once('close', () => {
        isClosed = true;
        wake();
        done();
      }),
    );
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      wake();
    });
    socket.on('error', () => {}); // a reset shows as a close
    socket.once('connect', () =>
      resolve({
        socket,
        closed,
        get isClosed() {
          return isClosed;
        },
        get received() {
          return received;
        },
        until: (text) =>
          new Promise((found, failed) => {
            const check = () => {
              if (received.includes(text)) found(received);
              else if (isClosed) failed(new Error(`connection closed before "${text}" arrived; got ${JSON.stringify(received)}`));
              else waiters.push(check);
            };
            check();
          }),
      }),
    );
    socket.once('error', reject);
  });
}

/** A connection that was answered once and is now an idle keep-alive connection. */
async function idle(port: number, localAddress?: string): Promise<Client> {
  const client = await open(port, localAddress);
  client.socket.write('GET /kosync/healthcheck HTTP/1.1\r\nHost: x\r\n\r\n');
  await client.until('{"state":"OK"}');
  return client;
}

/** A connection in the middle of a request: its head is in (the server said 100 Continue), its body is not. */
async function busy(port: number, localAddress?: string): Promise<Client> {
  const client = await open(port, localAddress);
  client.socket.write(
    `PUT /kosync/syncs/progress HTTP/1.1\r\nHost: x\r\nAuthorization: ${DAVE.authorization}\r\nContent-Type: application/json\r\n` +
      'Content-Length: 200\r\nExpect: 100-continue\r\n\r\n',
  );
  await client.until('100 Continue');
  return client;
}

/** A new client's one request; the status line and body, or what it got before the connection closed. */
async function served(port: number, localAddress?: string): Promise<{ status: string; body: string }> {
  const client = await open(port, localAddress);
  client.socket.write('GET /kosync/healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await client.closed;
  const [head = '', body = ''] = client.received.split('\r\n\r\n');
  return { status: head.split('\r\n')[0]!, body };
}

/** A new client that only listens: a refused connection is answered at once, before any request. */
async function refusal(port: number, localAddress?: string): Promise<{ head: string; body: unknown }> {
  const client = await open(port, localAddress);
  await client.closed;
  const [head = '', body = ''] = client.received.split('\r\n\r\n');
  return { head, body: body === '' ? undefined : JSON.parse(body) };
}

let t: TestApp | undefined;
let clients: Client[] = [];
let logLines: { level: number; msg: string }[] = [];
afterEach(async () => {
  for (const client of clients) client.socket.destroy();
  clients = [];
  await t?.close();
  t = undefined;
  logLines = [];
});

async function listening(env: Record<string, string>): Promise<number> {
  t = await testApp({
    library: null,
    env: { KOSYNC_LOG_LEVEL: 'warn', ...env },
    logStream: { write: (line) => void logLines.push(JSON.parse(line) as { level: number; msg: string }) },
  });
  return listenOnLoopback(t.app);
}

describe('KOSYNC_MAX_CONNECTIONS: idle connections cannot shut new clients out', () => {
  it('closes the connection idle longest to let a new client in', async () => {
    const port = await listening({ KOSYNC_MAX_CONNECTIONS: '10', KOSYNC_MAX_CONNECTIONS_PER_ADDRESS: '0' });
    for (let i = 0; i < 10; i++) clients.push(await idle(port));

    expect(await served(port)).toEqual({ status: 'HTTP/1.1 200 OK', body: '{"state":"OK"}' });
    await clients[0]!.closed;
    expect(clients.map((c) => c.isClosed)).toEqual([true, ...Array(9).fill(false)]);

    clients.push(await idle(port)); // at the cap again
    expect((await served(port)).status).toBe('HTTP/1.1 200 OK');
    await clients[1]!.closed;
    expect(clients.map((c) => c.isClosed)).toEqual([true, true, ...Array(9).fill(false)]);
  });

  it('closes connections that never sent a request like idle ones', async () => {
    const port = await listening({ KOSYNC_MAX_CONNECTIONS: '5', KOSYNC_MAX_CONNECTIONS_PER_ADDRESS: '0' });
    for (let i = 0; i < 5; i++) clients.push(await open(port));
    // Half a request head, as a slow client (or slowloris) sends it.
    clients[0]!.socket.write('GET /kosync/healthcheck HTTP/1.1\r\nHost: x\r\n');
    expect((await served(port)).status).toBe('HTTP/1.1 200 OK');
    // Closed to make room, long before the 15 s allowed for a request head.
    expect(clients.map((c) => c.isClosed)).toEqual([true, false, false, false, false]);
  });

  it('refuses a new connection with 503 JSON while every open one is busy with a request, and lets it in once one is done', async () => {
    const port = await listening({ KOSYNC_MAX_CONNECTIONS: '5', KOSYNC_MAX_CONNECTIONS_PER_ADDRESS: '0' });
    for (let i = 0; i < 5; i++) clients.push(await busy(port));

    const refused = await refusal(port);
    expect(refused.head.split('\r\n')).toEqual([
      'HTTP/1.1 503 Service Unavailable',
      'Content-Type: application/json',
      `Content-Length: ${JSON.stringify(REFUSED).length}`,
      'Cache-Control: no-store',
      'Connection: close',
    ]);
    expect(refused.body).toEqual(REFUSED);
    expect(logLines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
      'connection refused: 5 connections open (KOSYNC_MAX_CONNECTIONS), all busy with requests',
    ]);

    // One request completes: its connection is idle now and gives way.
    const body = JSON.stringify({ document: 'limits', progress: 'p', percentage: 0.5, device: 'KOReader' });
    clients[2]!.socket.write(body.padEnd(200, ' '));
    await clients[2]!.until('"document":"limits"');
    expect((await served(port)).status).toBe('HTTP/1.1 200 OK');
    await clients[2]!.closed;
    expect(clients.map((c) => c.isClosed)).toEqual([false, false, true, false, false]);
  });
});

describe('KOSYNC_MAX_CONNECTIONS_PER_ADDRESS: one address cannot take every connection', () => {
  it('refuses a fourth busy connection from 127.0.0.2 while 127.0.0.3 is served', async () => {
    const port = await listening({ KOSYNC_MAX_CONNECTIONS: '50', KOSYNC_MAX_CONNECTIONS_PER_ADDRESS: '3' });
    for (let i = 0; i < 3; i++) clients.push(await busy(port, '127.0.0.2'));

    expect((await refusal(port, '127.0.0.2')).body).toEqual(REFUSED);
    expect(await served(port, '127.0.0.3')).toEqual({ status: 'HTTP/1.1 200 OK', body: '{"state":"OK"}' });
    expect(clients.map((c) => c.isClosed)).toEqual([false, false, false]);
    expect(logLines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
      'connection refused: 3 connections open from this address (KOSYNC_MAX_CONNECTIONS_PER_ADDRESS), all busy with requests',
    ]);
  });

  it('makes an address at its cap give up its own idle connection, not another address’s', async () => {
    const port = await listening({ KOSYNC_MAX_CONNECTIONS: '50', KOSYNC_MAX_CONNECTIONS_PER_ADDRESS: '3' });
    const other = await idle(port, '127.0.0.3');
    clients.push(other);
    const own: Client[] = [];
    for (let i = 0; i < 3; i++) own.push(await idle(port, '127.0.0.2'));
    clients.push(...own);

    expect((await served(port, '127.0.0.2')).status).toBe('HTTP/1.1 200 OK');
    await own[0]!.closed;
    expect([other, ...own].map((c) => c.isClosed)).toEqual([false, true, false, false]);
  });

  it('does not cap a reverse proxy named in KOSYNC_TRUST_PROXY: its connections are its clients’', async () => {
    const port = await listening({
      KOSYNC_MAX_CONNECTIONS: '50',
      KOSYNC_MAX_CONNECTIONS_PER_ADDRESS: '3',
      KOSYNC_TRUST_PROXY: '127.0.0.2',
    });
    for (let i = 0; i < 6; i++) clients.push(await busy(port, '127.0.0.2'));
    expect((await served(port, '127.0.0.2')).status).toBe('HTTP/1.1 200 OK');
    expect(clients.map((c) => c.isClosed)).toEqual(Array(6).fill(false));
    // Other peers still are.
    for (let i = 0; i < 3; i++) clients.push(await busy(port, '127.0.0.3'));
    expect((await refusal(port, '127.0.0.3')).body).toEqual(REFUSED);
  });
});

describe('which peers count as the reverse proxy (KOSYNC_TRUST_PROXY) for the per-address cap', () => {
  it('reads addresses, CIDRs and the named ranges, IPv4 also in its IPv4-mapped IPv6 form', () => {
    const compose = proxyPeers(['uniquelocal']);
    expect(['172.18.0.2', '::ffff:172.18.0.2', '192.168.1.5', 'fd00::1', '8.8.8.8', '127.0.0.1'].map(compose)).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
    const listed = proxyPeers(['127.0.0.1', '10.1.0.0/16', 'loopback']);
    expect(['127.0.0.1', '127.0.0.9', '::1', '10.1.2.3', '10.2.0.1', 'not an address'].map(listed)).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
    expect([proxyPeers(true)('203.0.113.9'), proxyPeers(false)('127.0.0.1')]).toEqual([true, false]);
  });
});

describe('a real process under a small open-file limit', () => {
  const noPrlimit = skipWithout(missingCommand('prlimit', ['--version'], 'apt-get install util-linux'), 'the open-file limit tests');

  let files: FixtureCopy | undefined;
  let server: ChildServer | undefined;
  afterEach(async () => {
    for (const client of clients) client.socket.destroy();
    clients = [];
    server?.process.kill('SIGTERM');
    await server?.exited;
    files?.remove();
    server = files = undefined;
  });

  it.skipIf(noPrlimit)('serves a new client after 150 idle connections at ulimit -n 128, with KOSYNC_MAX_CONNECTIONS=64', async () => {
    files = copyFixtures({ library: null });
    const env = {
      KOSYNC_APP_DB: files.appDb,
      KOSYNC_STATE_DB: files.stateDb,
      KOSYNC_MAX_CONNECTIONS: '64',
      KOSYNC_MAX_CONNECTIONS_PER_ADDRESS: '0',
    };
    server = await startChildServer(builtCli(), env);
    // Lowered once it runs: node opens hundreds of module files at once while it starts.
    execFileSync('prlimit', ['--pid', String(server.process.pid), '--nofile=128:128']);
    expect(openFileLimit(`/proc/${server.process.pid}/limits`)).toBe(128);
    const port = Number(new URL(server.origin).port);
    // More idle connections than the process has descriptors: without a cap, accept() fails from
    // about the hundredth on and nobody new gets in.
    for (let i = 0; i < 150; i++) clients.push(await idle(port));

    expect(await served(port)).toEqual({ status: 'HTTP/1.1 200 OK', body: '{"state":"OK"}' });
    expect(clients.filter((c) => !c.isClosed).length).toBeLessThanOrEqual(64);
    expect(server.output()).not.toContain('EMFILE');
  });

  it.skipIf(noPrlimit)('warns at start when KOSYNC_MAX_CONNECTIONS does not fit the open-file limit', async () => {
    files = copyFixtures({ library: null });
    const env = { KOSYNC_APP_DB: files.appDb, KOSYNC_STATE_DB: files.stateDb, KOSYNC_MAX_CONNECTIONS: '1000' };
    server = await startChildServer(builtCli(), env, ['serve'], ['prlimit', '--nofile=1024']);
    expect(server.output()).toContain(
      'KOSYNC_MAX_CONNECTIONS=1000 under an open-file limit of 1024 (ulimit -n): ' +
        'connections can use up the descriptors the databases need. ' +
        'Set KOSYNC_MAX_CONNECTIONS to at most 960 or raise the limit.',
    );
  });
});

describe('the default caps', () => {
  it('fit the usual open-file limit of 1024 with room for the databases and libraries', () => {
    expect(fileLimitWarning({ total: 512, perAddress: 128 }, 1024)).toBeUndefined();
    expect(fileLimitWarning({ total: 0, perAddress: 128 }, 1024)).toMatch(
      /^no cap on connections \(KOSYNC_MAX_CONNECTIONS=0\) under an open-file limit of 1024/,
    );
  });
});
