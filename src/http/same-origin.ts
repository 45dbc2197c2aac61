import type { FastifyRequest } from 'fastify';

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Whether a form POST came from a page of this server, the page's defence against cross-site request
 * forgery. Browsers say so in `Sec-Fetch-Site` (sent to https and localhost origins); otherwise the
 * `Origin`, or failing that the `Referer`, must name this host. The host may be the one the client
 * asked for (`Host`) or the one a reverse proxy forwarded (`X-Forwarded-Host`): a cross-site page can
 * set neither header on the victim's request. A request with none of these headers is not a browser
 * form submission, so it cannot be a forged one.
 */
export function isSameOriginPost(request: FastifyRequest): boolean {
  const site = single(request.headers['sec-fetch-site']);
  if (site !== undefined) return site === 'same-origin';
  const source = single(request.headers.origin) ?? single(request.headers.referer);
  if (source === undefined) return true;
  let host: string;
  try {
    host = new URL(source).host.toLowerCase();
  } catch {
    return false; // includes Origin: null (sandboxed frames, privacy redirects)
  }
  const hosts = [request.host, single(request.headers.host), single(request.headers['x-forwarded-host'])?.split(',')[0]?.trim()];
  return hosts.some((candidate) => candidate !== undefined && candidate.toLowerCase() === host);
}
