import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import replyFrom from '@fastify/reply-from';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { type DownloadTap, servedFileNames } from '../checksums/served-file.js';

/** Calibre-Web's download routes (docs/UPSTREAM.md#calibre-web-downloads), at the server root. */
const DOWNLOAD_ROUTES = [
  '/download/:bookId/:format',
  '/download/:bookId/:format/:name',
  '/opds/download/:bookId/:format/',
  '/kobo/:token/download/:bookId/:format',
];

/** A connection to Calibre-Web that is not made within this is given up: the client gets 502 at once. */
const CONNECT_TIMEOUT_MS = 3000;
/**
 * How long Calibre-Web may take to start answering. A download with metadata embedded runs
 * `calibredb export` first, and Calibre-Web serves one request at a time, so it can take a while.
 */
const HEADERS_TIMEOUT_MS = 120_000;
/** Longest silence between two parts of a body before the transfer is cut. */
const BODY_TIMEOUT_MS = 60_000;

const PLAIN = 'text/plain; charset=utf-8';

export interface DownloadTapOptions {
  /** Calibre-Web's own address (KOSYNC_CALIBRE_WEB_URL). */
  calibreWebUrl: string;
  /** A tap for a file Calibre-Web is about to send, which records it once complete. */
  tapFor(file: { bookId: number; format: string; names: string[]; path: string }): DownloadTap;
  /** Calibre-Web's own login header (reverse-proxy header login), when that login is on there. */
  calibreWebLoginHeader(): Promise<string | undefined>;
  /** Whether the connecting peer is a reverse proxy named in KOSYNC_TRUST_PROXY. */
  fromProxy(address: string): boolean;
}

/**
 * The download tap: Calibre-Web's download routes, forwarded to Calibre-Web unchanged by
 * @fastify/reply-from (method, path, query, headers with cookies and Authorization, plus
 * X-Forwarded-For/-Proto/-Host) and answered with exactly what it sends. The bytes of a complete
 * `GET` 200 are sampled on their way through (12 KiB kept, whatever the size) and the file is recorded
 * in the checksum index, so a reader holding the file Calibre-Web served (metadata embedded, so not the
 * library file) matches its book. Range answers, HEAD, errors and cut transfers record nothing.
 */
export const downloadRoutes: FastifyPluginAsync<DownloadTapOptions> = async (app, options) => {
  await app.register(replyFrom, {
    base: options.calibreWebUrl,
    disableRequestLogging: true,
    destroyAgent: true,
    undici: {
      connect: { timeout: CONNECT_TIMEOUT_MS, rejectUnauthorized: true },
      headersTimeout: HEADERS_TIMEOUT_MS,
      bodyTimeout: BODY_TIMEOUT_MS,
    },
  });

  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    let loginHeader: string | undefined;
    try {
      loginHeader = await options.calibreWebLoginHeader();
    } catch (error) {
      request.log.warn({ err: error }, "download tap: Calibre-Web's settings cannot be read");
      return reply.code(503).type(PLAIN).send("Calibre-Web's settings cannot be read, try again later\n");
    }
    // Calibre-Web trusts its login header from the tap's address: only a proxy the operator trusts may send it on.
    const dropped = loginHeader !== undefined && !options.fromProxy(request.socket.remoteAddress ?? '') ? loginHeader : undefined;
    return reply.from(undefined, {
      // Never retried: a download is not repeated behind the client's back.
      retryDelay: () => null,
      rewriteRequestHeaders: (_request, headers) => {
        const forwarded: Record<string, unknown> = { ...headers, host: request.headers.host, ...forwardedHeaders(request) };
        if (dropped !== undefined) delete forwarded[dropped];
        return forwarded as typeof headers;
      },
      rewriteHeaders: withoutHopByHop,
      onError: (_reply, { error }) => unreachable(reply, error),
      onResponse: (_request, _reply, answer) => void tapped(request, reply, answer.stream, options),
    });
  };
  for (const url of DOWNLOAD_ROUTES) app.route({ method: ['GET', 'HEAD'], url, exposeHeadRoute: false, handler: forward });
};

/** Headers about one connection (RFC 9110 §7.6.1), which a proxy does not pass on; every other header is. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

function withoutHopByHop<H extends Record<string, unknown>>(headers: H): H {
  const kept = { ...headers };
  for (const name of HOP_BY_HOP) delete kept[name];
  return kept;
}

/** The usual X-Forwarded-* headers: the client chain plus the connecting peer, and the scheme and host as this server sees them. */
function forwardedHeaders(request: FastifyRequest): Record<string, string> {
  const peer = request.socket.remoteAddress ?? '';
  const chain = request.headers['x-forwarded-for'];
  return {
    'x-forwarded-for': chain ? `${Array.isArray(chain) ? chain.join(', ') : chain}, ${peer}` : peer,
    'x-forwarded-proto': request.protocol,
    'x-forwarded-host': request.host,
  };
}

/** Calibre-Web could not be asked: 502 (504 when it took too long to answer) with a short plain message. */
function unreachable(reply: FastifyReply, error: Error & { statusCode?: number }): void {
  const late = error.statusCode === 504;
  reply.log.warn({ err: error }, late ? 'download tap: Calibre-Web did not answer in time' : 'download tap: Calibre-Web cannot be reached');
  reply
    .code(late ? 504 : 502)
    .type(PLAIN)
    .send(late ? 'Calibre-Web did not answer in time\n' : 'Calibre-Web cannot be reached\n');
}

/**
 * Sends Calibre-Web's answer on; for a `GET` 200 that names a file, through a tap that records it once
 * complete: every byte came from Calibre-Web (as many as it announced) and reached the client.
 */
async function tapped(request: FastifyRequest, reply: FastifyReply, body: Readable, options: DownloadTapOptions): Promise<void> {
  const file = recordable(request, reply);
  if (!file) {
    reply.send(body);
    return;
  }
  const tap = options.tapFor(file);
  const expected = Number(reply.getHeader('content-length') ?? Number.NaN);
  const through = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      tap.update(chunk);
      done(null, chunk);
    },
  });
  // The response finishes only when Calibre-Web's body ended without error and all of it was sent:
  // a body cut by either side destroys the client's connection instead.
  reply.raw.once('finish', () => {
    if (Number.isFinite(expected) && tap.bytes !== expected) return;
    const document = tap.record();
    request.log.info({ document, bookId: file.bookId, format: file.format, bytes: tap.bytes }, 'download tap: recorded a served file');
  });
  reply.send(through);
  await pipeline(body, through).catch(() => undefined);
}

/** The book and format of a download worth recording: a GET answered 200, with a file name and no content encoding. */
function recordable(
  request: FastifyRequest,
  reply: FastifyReply,
): { bookId: number; format: string; names: string[]; path: string } | undefined {
  if (request.method !== 'GET' || reply.statusCode !== 200) return undefined;
  const encoding = reply.getHeader('content-encoding');
  if (encoding !== undefined && encoding !== 'identity') return undefined;
  const disposition = reply.getHeader('content-disposition');
  if (typeof disposition !== 'string') return undefined;
  const { bookId, format } = request.params as { bookId: string; format: string };
  if (!/^\d+$/.test(bookId)) return undefined;
  const path = request.url.split('?', 1)[0]!;
  return { bookId: Number(bookId), format: format.split('.', 1)[0]!.toUpperCase(), names: servedFileNames(disposition), path };
}
