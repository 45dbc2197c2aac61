import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from './support/app.js';
import { listenOnLoopback } from './support/ports.js';
import { rawExchange, statusAndBody } from './support/raw-http.js';
import { DAVE, get, put } from './support/requests.js';

describe('limits on what a client controls', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await testApp({ library: null });
    port = await listenOnLoopback(t.app);
  });
  afterAll(() => t.close());

  it('answers a body over 16 KiB with 413 JSON', async () => {
    const response = await put(t.app, `{"document":"${'a'.repeat(17 * 1024)}"}`);
    expect([response.statusCode, response.headers['content-type'], response.body]).toEqual([
      413,
      'application/json',
      '{"code":2003,"message":"Request body too large"}',
    ]);
  });

  it('refuses JSON nested deeper than 32 levels before parsing it', async () => {
    const deep = await put(t.app, `{"document":${'['.repeat(100_000)}${']'.repeat(100_000)}}`.slice(0, 16_000));
    expect([deep.statusCode, deep.body]).toEqual([403, '{"code":2003,"message":"Request body is nested too deeply"}']);
  });

  it('takes documents up to 255 characters and answers 2004 past that, however long the URL', async () => {
    expect([(await get(t.app, 'd'.repeat(255))).statusCode, (await get(t.app, 'd'.repeat(255))).body]).toEqual([200, '{}']);
    for (const length of [256, 5000, 15_000]) {
      const response = await get(t.app, 'd'.repeat(length));
      expect([response.statusCode, response.body]).toEqual([403, '{"code":2004,"message":"Invalid document field"}']);
    }
    // Still after authentication, as for any other document.
    expect((await get(t.app, 'd'.repeat(5000), {})).statusCode).toBe(401);
  });

  it('answers a request line or headers over 16 KiB with 431 JSON and closes only that connection', async () => {
    const longUrl = statusAndBody(await rawExchange(port, `GET /kosync/syncs/progress/${'d'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`));
    const bigHeader = statusAndBody(
      await rawExchange(port, `GET /kosync/healthcheck HTTP/1.1\r\nHost: x\r\nX-Filler: ${'f'.repeat(20_000)}\r\n\r\n`),
    );
    for (const answer of [longUrl, bigHeader]) {
      expect(answer).toEqual({
        status: 'HTTP/1.1 431 Request Header Fields Too Large',
        contentType: 'application/json',
        body: '{"code":2003,"message":"Request line or headers too large"}',
      });
    }
    expect((await fetch(`http://127.0.0.1:${port}/kosync/users/auth`, { headers: DAVE })).status).toBe(200);
  });

  it('answers bytes that are not HTTP with 400 JSON', async () => {
    expect(statusAndBody(await rawExchange(port, '\x16\x03\x01\x02\x00 not http at all\r\n\r\n'))).toEqual({
      status: 'HTTP/1.1 400 Bad Request',
      contentType: 'application/json',
      body: '{"code":2003,"message":"Malformed HTTP request"}',
    });
  });

  it('answers a request whose head, or whose body, arrives too slowly with 408 JSON and closes it', { timeout: 60_000 }, async () => {
    // The head must be complete within 15 s, the whole request within 30 s (node looks every 2 s): the
    // head started second is refused first.
    const refused: string[] = [];
    const slow = (name: string, bytes: string) =>
      rawExchange(port, bytes).then((answer) => {
        refused.push(name);
        return answer;
      });
    const slowBody = slow('body', `PUT /kosync/syncs/progress HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"doc`);
    const slowHead = slow('head', 'GET /kosync/healthcheck HTTP/1.1\r\nHost: x\r\n');
    const answers = await Promise.all([slowHead, slowBody]);
    expect(refused).toEqual(['head', 'body']);
    for (const answer of answers) {
      expect(statusAndBody(answer)).toEqual({
        status: 'HTTP/1.1 408 Request Timeout',
        contentType: 'application/json',
        body: '{"code":2003,"message":"Request took too long to arrive"}',
      });
    }
  });

  it('keeps an idle connection for 65 s, and says so (longer than nginx keeps its upstream connections)', async () => {
    const head = await responseHead(port, 'GET /kosync/healthcheck HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head).toMatch(/\r\nkeep-alive: timeout=65\r\n/i);
  });
});

/** The head of the first answer on a new connection, which is then closed by the client. */
function responseHead(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end >= 0) {
        socket.destroy();
        resolve(received.slice(0, end + 2));
      }
    });
    socket.on('error', reject);
    socket.write(request);
  });
}
