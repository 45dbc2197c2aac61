import type { IncomingMessage } from 'node:http';

/**
 * `BASE` given twice (`/kosync/kosync/users/auth`) rewritten to `BASE` before routing, so every route
 * answers there too (docs/PROTOCOL.md §1). CWA's KOReader plugin appends `/kosync` to the server it is
 * given (docs/UPSTREAM.md#cwa-its-koreader-plugin), so a user who types the URL the setup page shows
 * (`https://books.example/kosync`) syncs against `…/kosync/kosync/…`. Nothing to do when BASE is `/`.
 */
export function baseTwiceRewriter(basePath: string): ((request: IncomingMessage) => string) | undefined {
  if (basePath === '') return undefined;
  // Repeated slashes are one, as the router treats them (docs/PROTOCOL.md §1).
  const once = basePath
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => `/+${segment.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}`)
    .join('');
  const twice = new RegExp(`^(${once})${once}(?=[/?]|$)`);
  return (request) => {
    const url = request.url ?? '/';
    return twice.test(url) ? url.replace(twice, '$1') : url;
  };
}
