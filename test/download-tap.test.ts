import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { partialMd5OfBuffer } from '../src/checksums/partial-md5.js';
import { epochAt, storedAt, testApp, type TestApp, type TestAppOptions } from './support/app.js';
import { cli } from './support/cli.js';
import { execute, query } from './support/fixtures.js';
import { md5 } from './support/keys.js';
import { freePort, listenOnLoopback } from './support/ports.js';
import { DAVE, ERIN, json, put, BOOK3 } from './support/requests.js';

/** What Calibre-Web names book 3's EPUB download (get_download_link): ASCII `filename`, UTF-8 `filename*`. */
const BOOK3_DISPOSITION =
  'attachment; filename="Uber den Fluss - Zoe Angstrom.epub"; ' +
  "filename*=UTF-8''%C3%9Cber%20den%20Fluss%20-%20Zo%C3%AB%20%C3%85ngstr%C3%B6m.epub";

/** Bytes unlike any library file: byte i is (i·7 + ⌊i/251⌋) mod 256. */
function bytesOf(size: number, salt = 0): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + Math.floor(i / 251) + salt) & 0xff;
  return bytes;
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

interface Upstream {
  server: Server;
  port: number;
  seen: { method: string; url: string; headers: IncomingHttpHeaders }[];
  handle: Handler;
}

let upstream: Upstream | undefined;
let t: TestApp | undefined;
let port = 0;
afterEach(async () => {
  await t?.close();
  if (upstream) {
    upstream.server.closeAllConnections();
    await new Promise((resolve) => upstream!.server.close(resolve));
  }
  t = upstream = undefined;
});

/** A stand-in for Calibre-Web on a loopback port: answers with `handle`, remembers every request. */
async function startUpstream(): Promise<Upstream> {
  const state: Upstream = { server: createServer(), port: 0, seen: [], handle: (_req, res) => res.writeHead(404).end() };
  state.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    state.seen.push({ method: request.method!, url: request.url!, headers: request.headers });
    state.handle(request, response);
  });
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  state.port = (state.server.address() as { port: number }).port;
  return state;
}

/** The sidecar with the tap pointed at the stand-in (or at `url`), listening on loopback, after its first scan. */
async function tapApp(options: TestAppOptions & { url?: string } = {}): Promise<TestApp> {
  upstream ??= await startUpstream();
  const { url, ...rest } = options;
  t = await testApp({
    library: 'calibre',
    ...rest,
    env: { KOSYNC_CALIBRE_WEB_URL: url ?? `http://127.0.0.1:${upstream.port}`, ...rest.env },
  });
  port = await listenOnLoopback(t.app);
  await t.library!.scanner.idle();
  return t;
}

/** Serves `body` as Calibre-Web serves a download: 200, its type, name and length. */
function serveFile(body: Buffer, disposition = BOOK3_DISPOSITION, extra: Record<string, string> = {}): Handler {
  return (request, response) => {
    response.writeHead(200, {
      'content-type': 'application/epub+zip',
      'content-disposition': disposition,
      'content-length': String(body.length),
      ...extra,
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request to the sidecar as a reader's client sends it; `localAddress` picks the client's loopback address. */
function fetchRaw(path: string, init: { method?: string; headers?: Record<string, string>; localAddress?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: init.method ?? 'GET',
        headers: init.headers ?? {},
        localAddress: init.localAddress ?? '127.0.0.1',
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end();
  });
}

const recorded = () =>
  query<{ document: string; book_id: number; format: string; method: string; detail: string }>(
    t!.files.stateDb,
    "SELECT document, book_id, format, method, detail FROM document_ids WHERE method = 'download' ORDER BY id",
  );
const waitForRecords = (count: number) => vi.waitFor(() => expect(recorded()).toHaveLength(count), { timeout: 5000 });

describe('the download tap (KOSYNC_CALIBRE_WEB_URL)', () => {
  it("forwards a download to Calibre-Web unchanged and answers with Calibre-Web's status, headers and body", async () => {
    await tapApp();
    const body = bytesOf(5000);
    upstream!.handle = serveFile(body, BOOK3_DISPOSITION, { 'x-calibre-web': 'yes', 'set-cookie': 'session=abc; HttpOnly' });
    const answer = await fetchRaw('/download/3/epub/any%20name?x=1&y=%C3%BC', {
      headers: {
        host: 'books.example:8443',
        cookie: 'session=s1; remember_token=r1',
        authorization: 'Basic YWRtaW46YWRtaW4xMjM=',
        'user-agent': 'KOReader/2026',
        'x-forwarded-for': '203.0.113.9',
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.equals(body)).toBe(true);
    expect(answer.headers).toMatchObject({
      'content-type': 'application/epub+zip',
      'content-disposition': BOOK3_DISPOSITION,
      'content-length': '5000',
      'x-calibre-web': 'yes',
      'set-cookie': ['session=abc; HttpOnly'],
    });
    expect(upstream!.seen).toHaveLength(1);
    const { method, url, headers } = upstream!.seen[0]!;
    expect([method, url]).toEqual(['GET', '/download/3/epub/any%20name?x=1&y=%C3%BC']);
    expect(headers).toMatchObject({
      host: 'books.example:8443',
      cookie: 'session=s1; remember_token=r1',
      authorization: 'Basic YWRtaW46YWRtaW4xMjM=',
      'user-agent': 'KOReader/2026',
      'x-forwarded-for': '203.0.113.9, 127.0.0.1',
      'x-forwarded-proto': 'http',
      // Without KOSYNC_TRUST_PROXY the host is the one the client named, and the chain is taken as it came.
      'x-forwarded-host': 'books.example:8443',
    });
  });

  it("records a complete download's partial MD5 and served names, for every user: a push of its id matches the book", async () => {
    await tapApp();
    const body = bytesOf(300_000);
    upstream!.handle = serveFile(body);
    expect((await fetchRaw('/opds/download/3/epub/')).status).toBe(200);
    await waitForRecords(1);
    const document = partialMd5OfBuffer(body);
    expect(recorded()).toEqual([
      { document, book_id: 3, format: 'EPUB', method: 'download', detail: 'Über den Fluss - Zoë Ångström.epub' },
    ]);
    const names = query(
      t!.files.stateDb,
      `SELECT document, detail FROM document_ids WHERE method = 'filename' AND detail LIKE '%Fluss%' ORDER BY id`,
    );
    expect(names).toEqual(
      expect.arrayContaining([
        { document: md5('Über den Fluss - Zoë Ångström.epub'), detail: 'Über den Fluss - Zoë Ångström.epub' },
        { document: md5('Uber den Fluss - Zoe Angstrom.epub'), detail: 'Uber den Fluss - Zoe Angstrom.epub' },
      ]),
    );
    for (const user of [DAVE, ERIN]) {
      const pushed = await put(t!.app, { document, progress: '/body/DocFragment[2].0', percentage: 0.3, device: 'KOReader' }, user);
      expect(json(pushed)).toEqual({ document, timestamp: epochAt(0), ...BOOK3 });
    }
    const found = await cli([
      'checksums',
      'find',
      document,
      ...['--app-db', t!.files.appDb, '--state-db', t!.files.stateDb, '--library', t!.files.library!, '--log-level', 'silent'],
    ]);
    expect([found.code, ...found.stdout.split('\n')]).toEqual([
      0,
      `${document}: book 3 "Über den Fluss", EPUB, matched by the KOReader partial MD5 of a file Calibre-Web served (download tap)`,
      `  download   book 3 EPUB  first seen ${storedAt(0)}  last seen ${storedAt(0)}  in the library  (Über den Fluss - Zoë Ångström.epub)`,
      '',
    ]);
  });

  it('hashes a 20 MiB body streamed in uneven chunks exactly as KOReader hashes the file', async () => {
    await tapApp();
    const body = bytesOf(20 * 1024 * 1024, 3);
    upstream!.handle = (_request, response) => {
      response.writeHead(200, { 'content-disposition': 'attachment; filename="big.epub"', 'content-length': String(body.length) });
      // Chunk edges fall inside and across the sample windows.
      let at = 0;
      const sizes = [1, 1023, 700, 2000, 4095, 333, 65_537];
      for (let i = 0; at < body.length; i++) {
        const size = sizes[i % sizes.length]! * (i > 20 ? 16 : 1);
        response.write(body.subarray(at, at + size));
        at += size;
      }
      response.end();
    };
    const answer = await fetchRaw('/kobo/token123/download/3/epub');
    expect(answer.body.length).toBe(body.length);
    await waitForRecords(1);
    expect(recorded()[0]).toMatchObject({ document: partialMd5OfBuffer(body), book_id: 3, format: 'EPUB', detail: 'big.epub' });
  });

  it('records nothing for a range (206), HEAD, an error, a compressed body, a cut transfer or a client that left', async () => {
    await tapApp();
    const body = bytesOf(200_000);
    upstream!.handle = (request, response) => {
      const [, , book] = request.url!.split('/');
      if (book === '1') {
        response.writeHead(206, {
          'content-disposition': BOOK3_DISPOSITION,
          'content-range': 'bytes 0-99/200000',
          'content-length': '100',
        });
        response.end(body.subarray(0, 100));
      } else if (book === '2') {
        serveFile(body)(request, response);
      } else if (book === '3') {
        response.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>');
      } else if (book === '4') {
        serveFile(body, BOOK3_DISPOSITION, { 'content-encoding': 'gzip' })(request, response);
      } else if (book === '5') {
        response.writeHead(200, { 'content-disposition': BOOK3_DISPOSITION, 'content-length': String(body.length) });
        response.write(body.subarray(0, 50_000), () => response.socket?.destroy());
      } else if (book === '8') {
        response.writeHead(200, { 'content-disposition': BOOK3_DISPOSITION });
        response.write(body.subarray(0, 50_000), () => response.socket?.destroy());
      } else if (book === '6') {
        response.writeHead(200, { 'content-disposition': BOOK3_DISPOSITION, 'content-length': String(body.length) });
        response.write(body.subarray(0, 50_000));
        response.on('close', () => response.destroy());
      } else {
        serveFile(bytesOf(1000, 9))(request, response);
      }
    };
    expect((await fetchRaw('/download/1/epub', { headers: { range: 'bytes=0-99' } })).status).toBe(206);
    const head = await fetchRaw('/download/2/epub', { method: 'HEAD' });
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, '200000', 0]);
    expect((await fetchRaw('/download/3/epub')).status).toBe(404);
    expect((await fetchRaw('/download/4/epub')).status).toBe(200);
    await expect(fetchRaw('/download/5/epub')).rejects.toThrow(/aborted|socket hang up|ECONNRESET/);
    await expect(fetchRaw('/download/8/epub')).rejects.toThrow(/aborted|socket hang up|ECONNRESET/);
    // A client that reads the first part and goes away.
    const gone = new Promise<void>((resolve) => {
      const request = httpRequest({ host: '127.0.0.1', port, path: '/download/6/epub' }, (response) => {
        response.once('data', () => {
          request.destroy();
          resolve();
        });
      });
      request.end();
    });
    await gone;
    // A complete download afterwards is the only one recorded.
    expect((await fetchRaw('/download/7/epub')).status).toBe(200);
    await waitForRecords(1);
    expect(recorded()).toEqual([expect.objectContaining({ document: partialMd5OfBuffer(bytesOf(1000, 9)), book_id: 7 })]);
  });

  it('answers 502 with a short plain message when Calibre-Web cannot be reached, while syncing goes on', async () => {
    await tapApp({ url: `http://127.0.0.1:${await freePort()}` });
    const answer = await fetchRaw('/opds/download/1/epub/');
    expect([answer.status, answer.headers['content-type'], answer.body.toString()]).toEqual([
      502,
      'text/plain; charset=utf-8',
      'Calibre-Web cannot be reached\n',
    ]);
    const pushed = await put(t!.app, { document: 'e1dbc3a8ba7a76e2bc720bd6815715b0', progress: 'p', percentage: 0.2, device: 'KOReader' });
    expect(pushed.statusCode).toBe(200);
  });

  it('is not there without KOSYNC_CALIBRE_WEB_URL: the download paths are the JSON 404 of any unknown path', async () => {
    t = await testApp({ library: 'calibre' });
    const answer = await t.app.inject({ method: 'GET', url: '/download/1/epub' });
    expect([answer.statusCode, JSON.parse(answer.body)]).toEqual([404, { code: 2000, message: 'Not found' }]);
  });

  it("answers 503 in plain text, forwarding nothing, while Calibre-Web's settings (its login header) cannot be read", async () => {
    upstream = await startUpstream();
    t = await testApp({ library: 'calibre', env: { KOSYNC_CALIBRE_WEB_URL: `http://127.0.0.1:${upstream.port}` } });
    // Before the settings are first read, app.db is replaced by a file that is not Calibre-Web's.
    rmSync(t.files.appDb);
    writeFileSync(t.files.appDb, '');
    port = await listenOnLoopback(t.app);
    const answer = await fetchRaw('/download/3/epub');
    expect([answer.status, answer.headers['content-type'], answer.body.toString()]).toEqual([
      503,
      'text/plain; charset=utf-8',
      "Calibre-Web's settings cannot be read, try again later\n",
    ]);
    expect(upstream.seen).toEqual([]);
  });

  it("passes Calibre-Web's login header on only from a proxy named in KOSYNC_TRUST_PROXY", async () => {
    await tapApp({
      env: { KOSYNC_TRUST_PROXY: '127.0.0.7' },
      prepare: (files) =>
        execute(
          files.appDb,
          "UPDATE settings SET config_allow_reverse_proxy_header_login = 1, config_reverse_proxy_login_header_name = 'X-Remote-User'",
        ),
    });
    upstream!.handle = serveFile(bytesOf(10));
    await fetchRaw('/download/3/epub', { headers: { 'x-remote-user': 'admin' }, localAddress: '127.0.0.5' });
    await fetchRaw('/download/3/epub', { headers: { 'x-remote-user': 'admin' }, localAddress: '127.0.0.7' });
    expect(upstream!.seen.map((s) => s.headers['x-remote-user'])).toEqual([undefined, 'admin']);
  });
});
