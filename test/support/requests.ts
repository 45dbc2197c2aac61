import { expect } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { basic } from './app.js';

export const BOOK1_EPUB = 'e1dbc3a8ba7a76e2bc720bd6815715b0';
export const BOOK1_OLD_EPUB = '2f28cdd6d7079bc8df9a01a5596fd21c';
export const BOOK2_EPUB = 'acb60d6e0cde10d38f5335f8c1b1f34f';
export const BOOK2_PDF = '2fb1702f7329c741178f87f19311cde0';
export const BOOK3_EPUB = 'b13f0bc32d53edf58c4e6420493e00bd';
export const BOOK4_EPUB = '86a58dbb93d1ca4e18c0bd804bd4e415';
export const BOOK5_EPUB = '7b6c79c18ae1e8332ff9efdab22c801b';
export const UNKNOWN_DOC = '0123456789abcdef0123456789abcdef';

/** The calibre_* fields every answer about book 1's EPUB carries. */
export const BOOK1 = {
  calibre_book_id: 1,
  calibre_book_title: 'The Quiet Lighthouse',
  calibre_book_format: 'EPUB',
  calibre_checksum_version: 'koreader',
} as const;

/** The calibre_* fields of book 3's EPUB, Über den Fluss. */
export const BOOK3 = {
  calibre_book_id: 3,
  calibre_book_title: 'Über den Fluss',
  calibre_book_format: 'EPUB',
  calibre_checksum_version: 'koreader',
} as const;

/** The calibre_* fields of book 4's EPUB, A Field Guide to Small Birds (12 spine items, OEBPS/c0.xhtml … OEBPS/c11.xhtml). */
export const BOOK4 = {
  calibre_book_id: 4,
  calibre_book_title: 'A Field Guide to Small Birds',
  calibre_book_format: 'EPUB',
  calibre_checksum_version: 'koreader',
} as const;

/** Answers written out as the wire carries them, not taken from src/errors.ts, so a changed message fails. */
export const UNAUTHORIZED = { code: 2001, message: 'Unauthorized' } as const;
export const UNAVAILABLE = { code: 1000, message: 'Database unavailable, try again later' } as const;

/** dave's hash is pbkdf2:sha1:1000: the cheapest fixture user, for tests not about hashing. */
export const DAVE = basic('dave', 'oldtimer');
export const ERIN = basic('erin', 'legacy');

interface Push {
  document?: unknown;
  progress?: unknown;
  percentage?: unknown;
  device?: unknown;
  device_id?: unknown;
  [extra: string]: unknown;
}

export function put(app: FastifyInstance, body: Push | string, headers: Record<string, string> = DAVE, url = '/kosync/syncs/progress') {
  return app.inject({
    method: 'PUT',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export function get(app: FastifyInstance, document: string, headers: Record<string, string> = DAVE) {
  return app.inject({ method: 'GET', url: `/kosync/syncs/progress/${document}`, headers });
}

/** GET BASE/users/auth with `headers`, as a client at `remoteAddress` (light-my-request's 127.0.0.1 when not given). */
export function signIn(app: FastifyInstance, headers: Record<string, string> = {}, remoteAddress?: string) {
  return app.inject({ method: 'GET', url: '/kosync/users/auth', headers, ...(remoteAddress === undefined ? {} : { remoteAddress }) });
}

/** GET BASE/healthcheck. */
export function healthcheck(app: FastifyInstance) {
  return app.inject({ method: 'GET', url: '/kosync/healthcheck' });
}

export function json(response: LightMyRequestResponse): unknown {
  expect(response.headers['content-type']).toBe('application/json');
  return JSON.parse(response.body);
}
