import type { Request } from 'autocannon';

/** The fixture admin: pbkdf2:sha256:260000, Calibre-Web's default hash for new passwords until 3.x. */
export const USER = { name: 'admin', password: 'admin123' };
export const AUTHORIZATION = `Basic ${Buffer.from(`${USER.name}:${USER.password}`).toString('base64')}`;

/** Every document of the CWA fixture library: files of books 1–3, all matched by book_format_checksums. */
export const DOCUMENTS = [
  'e1dbc3a8ba7a76e2bc720bd6815715b0', // book 1 EPUB
  '2f28cdd6d7079bc8df9a01a5596fd21c', // book 1 EPUB, older file
  'acb60d6e0cde10d38f5335f8c1b1f34f', // book 2 EPUB
  '2fb1702f7329c741178f87f19311cde0', // book 2 PDF
  'b13f0bc32d53edf58c4e6420493e00bd', // book 3 EPUB
];

/**
 * A push of `document`. Percentages alternate between reading (42 %) and finished (99.5 %), so every
 * PUT also rewrites book_read_link (and counts a restart) and the Kobo bookmark and reading state.
 */
export function pushBody(document: string, finished: boolean): string {
  return JSON.stringify({
    document,
    progress: finished ? '/body/DocFragment[40]/body/p[1]/text().0' : '/body/DocFragment[12]/body/p[3]/text().17',
    percentage: finished ? 0.995 : 0.42,
    device: 'KOReader',
    device_id: 'BENCH0000000000000000000000000000',
  });
}

const pull = (document: string): Request => ({
  method: 'GET',
  path: `/kosync/syncs/progress/${document}`,
  headers: { authorization: AUTHORIZATION },
});

const push = (document: string, finished: boolean): Request => ({
  method: 'PUT',
  path: '/kosync/syncs/progress',
  headers: { authorization: AUTHORIZATION, 'content-type': 'application/json' },
  body: pushBody(document, finished),
});

export const WORKLOADS = {
  get: DOCUMENTS.map(pull),
  put: [...DOCUMENTS.map((d) => push(d, false)), ...DOCUMENTS.map((d) => push(d, true))],
  /** 4 pulls to 1 push: a household's devices mostly ask, pushing on page turns and closes. */
  mix: DOCUMENTS.flatMap((d, i) => [pull(d), pull(DOCUMENTS[(i + 1) % DOCUMENTS.length]!), push(d, i % 2 === 0), pull(d), pull(d)]),
} satisfies Record<string, Request[]>;

export type WorkloadName = keyof typeof WORKLOADS;
