import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/** KOReader's userkey: md5 of the password, lower-case hex. */
export function md5(password: string): string {
  return createHash('md5').update(password, 'utf8').digest('hex');
}

/** The headers stock KOReader sends; the user name as raw UTF-8 bytes, as Node reads them (latin1). */
export function keyHeaders(user: string, key: string): Record<string, string> {
  return { 'x-auth-user': Buffer.from(user, 'utf8').toString('latin1'), 'x-auth-key': key };
}

/** A browser's submission of the page's sign-in form; a header given as undefined is left out. */
export function enable(app: FastifyInstance, username: string, password: string, headers: Record<string, string | undefined> = {}) {
  const all = { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin', ...headers };
  return app.inject({
    method: 'POST',
    url: '/kosync/enable',
    headers: Object.fromEntries(Object.entries(all).filter((entry): entry is [string, string] => entry[1] !== undefined)),
    payload: new URLSearchParams({ username, password }).toString(),
  });
}
