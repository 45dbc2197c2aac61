import type { Server } from 'node:http';
import type { FastifyHttpOptions } from 'fastify';
import { answerClientError } from './client-errors.js';

/** Largest request line plus headers (node's maxHeaderSize), set here rather than left to NODE_OPTIONS. */
const MAX_HEADER_BYTES = 16 * 1024;

/**
 * The router's limit on a path parameter: as long as a URL can be, so the route itself answers 2004
 * for a document over 255 characters (after authentication), not the router before it. fastify's
 * default of 100 would refuse valid documents of 101–255 characters.
 */
export const MAX_PARAM_LENGTH = MAX_HEADER_BYTES;

/**
 * Limits on what a client controls besides the body (BODY_LIMIT in app.ts) and JSON depth
 * (http/request-body.ts): header and URL size, and how long a request or an idle connection may last.
 */
export const SERVER_LIMITS = {
  http: {
    maxHeaderSize: MAX_HEADER_BYTES,
    /** Headers must be complete within this (slow-loris); node checks every connectionsCheckingInterval. */
    headersTimeout: 15_000,
    connectionsCheckingInterval: 2_000,
    /**
     * An HTTP/1.1 request without `Host` is served rather than refused with node's empty, non-JSON
     * 400: nothing here depends on the host, and the page and messages fall back to the address the
     * client reached (http/public-url.ts).
     */
    requireHostHeader: false,
  },
  /** The whole request, body included. A kosync request is a few hundred bytes. */
  requestTimeout: 30_000,
  /**
   * Idle keep-alive connections close after this. Longer than nginx's upstream keepalive_timeout
   * (60 s) so the proxy, not the sidecar, closes an idle connection and never reuses a closing one.
   */
  keepAliveTimeout: 65_000,
  /** A socket with no traffic at all for this long is destroyed (a client that stopped reading). */
  connectionTimeout: 120_000,
  /**
   * While shutting down, requests that still arrive on open connections are served (with
   * `Connection: close`) instead of fastify's non-protocol 503 body; the grace period bounds them.
   */
  return503OnClosing: false,
  clientErrorHandler: answerClientError,
} satisfies Partial<FastifyHttpOptions<Server>>;

/**
 * Never logged: passwords, keys, Authorization headers, x-auth-key (the stock-KOReader key is the md5
 * of the password), cookies, and stored hashes, wherever an object holding them is logged.
 */
export const LOG_REDACTION = {
  paths: [
    'req.headers.authorization',
    'req.headers["x-auth-key"]',
    'req.headers.cookie',
    'headers.authorization',
    'headers["x-auth-key"]',
    'headers.cookie',
    'authorization',
    'password',
    '*.password',
    '*.*.password',
    'secret',
    '*.secret',
    '*.*.secret',
    'key',
    '*.key',
    'userkey',
    '*.userkey',
    'verifier',
    '*.verifier',
  ],
  censor: '[redacted]',
};
