import type { FastifyRequest } from 'fastify';

/**
 * The URL a client uses to reach BASE, from the request as it arrived: scheme and host come from
 * X-Forwarded-Proto/Host only when fastify's trustProxy (KOSYNC_TRUST_PROXY) accepts the proxy.
 */
export function publicBaseUrl(request: FastifyRequest, basePath: string): string {
  return `${request.protocol}://${request.host}${basePath}`;
}
