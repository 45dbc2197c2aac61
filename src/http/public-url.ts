import { isIPv6 } from 'node:net';
import type { FastifyRequest } from 'fastify';

/**
 * The URL a client uses to reach BASE, from the request as it arrived: scheme and host come from
 * X-Forwarded-Proto/Host only when fastify's trustProxy (KOSYNC_TRUST_PROXY) accepts the proxy.
 * Without a usable host (an HTTP/1.0 request without `Host`, an empty `Host` or X-Forwarded-Host) it
 * is the address the client connected to, never `http:///kosync`.
 */
export function publicBaseUrl(request: FastifyRequest, basePath: string): string {
  const host = request.host.trim() || reachedAddress(request);
  return `${request.protocol}://${host}${basePath}`;
}

/**
 * `address:port` of this server as the client reached it: the local end of its connection, which is
 * the listening address made concrete (never 0.0.0.0). Only a client gone before the answer is
 * built has none; it gets `localhost`.
 */
function reachedAddress(request: FastifyRequest): string {
  const { localAddress, localPort } = request.socket;
  if (!localAddress || !localPort) return 'localhost';
  // A dual-stack socket reports an IPv4 client's connection as ::ffff:a.b.c.d.
  const address = localAddress.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  return isIPv6(address) ? `[${address}]:${localPort}` : `${address}:${localPort}`;
}
