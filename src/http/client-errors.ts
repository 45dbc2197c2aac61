import type { Duplex } from 'node:stream';
import { KosyncError } from '../errors.js';

/**
 * Answers requests node's HTTP parser rejects (headers past maxHeaderSize, a request that arrives too
 * slowly, bytes that are not HTTP) with the protocol's JSON error shape and exact Content-Type,
 * replacing fastify's default `{"error","message","statusCode"}` body. No route or request id exists
 * at this stage; the connection is closed afterwards, as node does.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const known = new KosyncError(kindOf(error.code));
  const body = JSON.stringify(known.body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${known.status} ${statusText(known.status)}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

function kindOf(code: string | undefined): 'headersTooLarge' | 'requestTimeout' | 'malformedRequest' {
  if (code === 'HPE_HEADER_OVERFLOW') return 'headersTooLarge';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'requestTimeout';
  return 'malformedRequest';
}

function statusText(status: number): string {
  return { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[status] ?? 'Error';
}
