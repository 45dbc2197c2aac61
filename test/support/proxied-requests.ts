import { createServer, request as httpRequest, type Server } from 'node:http';
import { testApp, type TestApp } from './app.js';
import { execute } from './fixtures.js';
import { listenOnLoopback } from './ports.js';

/** The reader's address in proxy tests: a loopback address other than the proxy's own, so the two can be told apart. */
export const CLIENT_ADDRESS = '127.0.0.5';
/** The public name the reader uses. */
export const HOST = 'books.example';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request as KOReader makes it, from CLIENT_ADDRESS to HOST: the path sent exactly as given, redirects never followed. */
export function send(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, method, path, localAddress: CLIENT_ADDRESS, headers: { host: `${HOST}:${port}`, ...headers } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** Stands in for Calibre-Web behind the proxy: answers every path with what it received. */
async function startCalibreWebStub(): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' }).end(`calibre-web stub: ${request.method} ${request.url}`);
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
  return { server, port };
}

/** The sidecar and a Calibre-Web stand-in behind a proxy recipe under test, and what reached the sidecar. */
export interface ProxiedSidecar {
  sidecar: TestApp;
  sidecarPort: number;
  calibreWebPort: number;
  /** The sidecar's log lines (JSON). */
  logLines: string[];
  /** The URL and headers of every request that reached the sidecar. */
  received: Array<{ url: string; headers: Record<string, string | string[] | undefined> }>;
  close(): Promise<void>;
}

/**
 * The sidecar on a loopback port with Calibre-Web's header login on (loopback trusted) and honoured by
 * the sidecar too (KOSYNC_PROXY_HEADER_LOGIN), so only the recipe keeps a reader's own copy of the header
 * away from it; and a Calibre-Web stand-in for everything else.
 */
export async function startProxiedSidecar(): Promise<ProxiedSidecar> {
  const logLines: string[] = [];
  const received: ProxiedSidecar['received'] = [];
  const sidecar = await testApp({
    env: { KOSYNC_TRUST_PROXY: '127.0.0.1', KOSYNC_LOG_LEVEL: 'info', KOSYNC_PROXY_HEADER_LOGIN: 'true' },
    prepare: (files) =>
      execute(
        files.appDb,
        "UPDATE settings SET config_allow_reverse_proxy_header_login = 1, config_reverse_proxy_login_header_name = 'X-Remote-User', " +
          "config_reverse_proxy_trusted_ips = '127.0.0.0/8'",
      ),
    logStream: { write: (line) => void logLines.push(line) },
  });
  sidecar.app.addHook('onRequest', async (request) => {
    received.push({ url: request.url, headers: { ...request.headers } });
  });
  const sidecarPort = await listenOnLoopback(sidecar.app);
  const calibreWeb = await startCalibreWebStub();
  return {
    sidecar,
    sidecarPort,
    calibreWebPort: calibreWeb.port,
    logLines,
    received,
    close: async () => {
      await new Promise((resolve) => calibreWeb.server.close(resolve));
      await sidecar.close();
    },
  };
}

/** The address the sidecar logged for a healthcheck sent through the proxy on `port`. */
export async function addressSeenThrough(port: number, behind: ProxiedSidecar): Promise<string | undefined> {
  const before = behind.logLines.length;
  const answer = await send(port, 'GET', '/kosync/healthcheck');
  if (answer.status !== 200) throw new Error(`healthcheck through the proxy answered ${answer.status}`);
  return behind.logLines
    .slice(before)
    .map((l) => JSON.parse(l) as { msg?: string; ip?: string; path?: string })
    .find((l) => l.msg === 'request' && l.path === '/kosync/healthcheck')?.ip;
}
