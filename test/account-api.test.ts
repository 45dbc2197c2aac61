import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { epochAt, SECOND, testApp, type TestApp } from './support/app.js';
import { DAVE_ID, ERIN_ID, query, tableRows } from './support/fixtures.js';
import { BOOK1, BOOK1_EPUB, DAVE, ERIN, get, json, put, UNAUTHORIZED } from './support/requests.js';

let apps: TestApp[] = [];
afterEach(async () => {
  for (const t of apps) await t.close();
  apps = [];
});

/** The app with its library's checksum index built, so a miss is explained by what it is. */
async function scanned(env: Record<string, string> = {}): Promise<TestApp> {
  const t = await testApp({ env });
  apps.push(t);
  await t.app.ready();
  await t.library!.scanner.idle();
  return t;
}

const DOC = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const LIGHTHOUSE_BOOK = { id: 1, title: 'The Quiet Lighthouse', authors: ['Mara Ellison'], format: 'EPUB' };

function api(t: TestApp, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, headers: Record<string, string> = DAVE) {
  return t.app.inject({
    method,
    url: `/kosync/api/v1${path}`,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
}

async function push(t: TestApp, document: string, percent: number, device: string, headers = DAVE, extra: object = {}) {
  const body = {
    document,
    progress: `/body/DocFragment[${percent}]`,
    percentage: percent / 100,
    device,
    device_id: `${device}-ID`,
    ...extra,
  };
  const answer = await put(t.app, body, headers);
  expect(answer.statusCode).toBe(200);
  t.clock.advance(SECOND);
}

function ok(response: LightMyRequestResponse): unknown {
  expect(response.statusCode).toBe(200);
  expect(response.headers['cache-control']).toBe('no-store');
  return json(response);
}

const position = (percent: number, device: string, second: number) => ({
  progress: `/body/DocFragment[${percent}]`,
  percentage: percent / 100,
  device,
  device_id: `${device}-ID`,
  timestamp: epochAt(second),
});

describe('GET BASE/api/v1/documents and …/history', () => {
  it('lists the reader’s documents newest first, with the book each matched or why not, and the history newest first', async () => {
    const t = await scanned();
    await push(t, BOOK1_EPUB, 10, 'Kobo');
    await push(t, BOOK1_EPUB, 40, 'Phone');
    await push(t, DOC, 5, 'Phone', DAVE, { metadata: { title: 'A Book Nobody Has', authors: 'Nobody' } });
    await push(t, BOOK1_EPUB, 50, 'Kobo', ERIN);
    expect(ok(await api(t, 'GET', '/documents'))).toEqual({
      documents: [
        { document: DOC, book: null, match: null, reason: 'metadata-unmatched', ...position(5, 'Phone', 2) },
        { document: BOOK1_EPUB, book: LIGHTHOUSE_BOOK, match: 'cwa', reason: null, ...position(40, 'Phone', 1) },
      ],
    });
    expect(ok(await api(t, 'GET', `/documents/${BOOK1_EPUB}/history`))).toEqual({
      history: [position(40, 'Phone', 1), position(10, 'Kobo', 0)],
    });
    expect(ok(await api(t, 'GET', `/documents/${BOOK1_EPUB}/history`, undefined, ERIN))).toEqual({ history: [position(50, 'Kobo', 3)] });
    expect(ok(await api(t, 'GET', `/documents/${DOC.replace(/a/g, 'b')}/history`))).toEqual({ history: [] });
  });

  it('needs a sync login: none is 401, a stock-KOReader key works like Basic', async () => {
    const t = await scanned();
    const none = await api(t, 'GET', '/documents', undefined, {});
    expect(none.statusCode).toBe(401);
    expect(json(none)).toEqual(UNAUTHORIZED);
    await push(t, BOOK1_EPUB, 10, 'Kobo'); // a Basic login records dave's key (KOSYNC_RECORD_KEYS_ON_LOGIN)
    const md5 = (await import('node:crypto')).createHash('md5').update('oldtimer').digest('hex');
    expect(ok(await api(t, 'GET', '/documents', undefined, { 'x-auth-user': 'dave', 'x-auth-key': md5 }))).toMatchObject({
      documents: [{ document: BOOK1_EPUB }],
    });
  });

  it('answers a bad document with 2004', async () => {
    const t = await scanned();
    const answer = await api(t, 'GET', `/documents/${'x'.repeat(256)}/history`);
    expect(answer.statusCode).toBe(403);
    expect(json(answer)).toEqual({ code: 2004, message: 'Invalid document field' });
  });
});

describe('POST BASE/api/v1/documents/:document/restore', () => {
  it('makes a past position current, stamped now: the next pull answers it, app.db holds what that device’s push writes', async () => {
    const t = await scanned();
    const twin = await scanned(); // the same pushes, then a real push where t restores
    for (const app of [t, twin]) {
      await push(app, BOOK1_EPUB, 10, 'Kobo');
      await push(app, BOOK1_EPUB, 40, 'Phone');
    }
    const restored = await api(t, 'POST', `/documents/${BOOK1_EPUB}/restore`, { timestamp: epochAt(0) });
    expect(ok(restored)).toEqual({ document: BOOK1_EPUB, book: LIGHTHOUSE_BOOK, match: 'cwa', reason: null, ...position(10, 'Kobo', 2) });
    await push(twin, BOOK1_EPUB, 10, 'Kobo');

    expect(json(await get(t.app, BOOK1_EPUB))).toEqual({ document: BOOK1_EPUB, ...position(10, 'Kobo', 2), ...BOOK1 });
    for (const table of ['kosync_progress', 'book_read_link', 'kobo_reading_state', 'kobo_bookmark', 'kobo_statistics']) {
      expect(tableRows(t.files.appDb, table)).toEqual(tableRows(twin.files.appDb, table));
    }
    expect(ok(await api(t, 'GET', `/documents/${BOOK1_EPUB}/history`))).toEqual({
      history: [position(10, 'Kobo', 2), position(40, 'Phone', 1), position(10, 'Kobo', 0)],
    });
  });

  it('is written even with KOSYNC_KEEP_FURTHEST, which keeps another device’s push behind it out', async () => {
    const t = await scanned({ KOSYNC_KEEP_FURTHEST: 'true' });
    await push(t, BOOK1_EPUB, 10, 'Kobo');
    await push(t, BOOK1_EPUB, 40, 'Phone');
    expect(ok(await api(t, 'POST', `/documents/${BOOK1_EPUB}/restore`, { timestamp: epochAt(0) }))).toMatchObject(position(10, 'Kobo', 2));
    expect(query(t.files.appDb, 'SELECT percentage, device FROM kosync_progress')).toEqual([{ percentage: 10, device: 'Kobo' }]);
  });

  it('refuses a timestamp no entry has (404), a bad body (403 naming the field), and another user’s history', async () => {
    const t = await scanned();
    await push(t, BOOK1_EPUB, 10, 'Kobo');
    const missing = await api(t, 'POST', `/documents/${BOOK1_EPUB}/restore`, { timestamp: epochAt(1) });
    expect(missing.statusCode).toBe(404);
    expect(json(missing)).toEqual({ code: 2000, message: "No such position in this document's history" });
    const erin = await api(t, 'POST', `/documents/${BOOK1_EPUB}/restore`, { timestamp: epochAt(0) }, ERIN);
    expect([erin.statusCode, json(erin)]).toEqual([404, { code: 2000, message: "No such position in this document's history" }]);
    const bad = await api(t, 'POST', `/documents/${BOOK1_EPUB}/restore`, { timestamp: 'yesterday' });
    expect([bad.statusCode, json(bad)]).toEqual([403, { code: 2003, message: 'Invalid timestamp field' }]);
    const notJson = await t.app.inject({
      method: 'POST',
      url: `/kosync/api/v1/documents/${BOOK1_EPUB}/restore`,
      headers: DAVE,
      payload: '{',
    });
    expect([notJson.statusCode, json(notJson)]).toEqual([403, { code: 2003, message: 'Request body is not valid JSON' }]);
    expect(query(t.files.appDb, 'SELECT user_id, percentage FROM kosync_progress')).toEqual([{ user_id: DAVE_ID, percentage: 10 }]);
  });
});

describe('PUT and DELETE BASE/api/v1/documents/:document/book (manual links)', () => {
  it('links a document for its reader alone: their next push writes book_read_link, another user’s match is unchanged', async () => {
    const t = await scanned();
    await push(t, DOC, 30, 'Phone', DAVE, { metadata: { filename: 'lighthouse-copy.epub' } });
    await push(t, DOC, 20, 'Kobo', ERIN);
    expect(tableRows(t.files.appDb, 'book_read_link')).toEqual([]);

    const linked = await api(t, 'PUT', `/documents/${DOC}/book`, { book_id: 1 });
    expect(ok(linked)).toEqual({ document: DOC, book: LIGHTHOUSE_BOOK, match: 'manual', reason: null, ...position(30, 'Phone', 0) });
    expect(query(t.files.stateDb, 'SELECT user_id, document, book_id, format FROM document_links')).toEqual([
      { user_id: DAVE_ID, document: DOC, book_id: 1, format: 'EPUB' },
    ]);

    const erinBefore = ok(await api(t, 'GET', '/documents', undefined, ERIN));
    await push(t, DOC, 35, 'Phone');
    expect(json(await put(t.app, { document: DOC, progress: 'p', percentage: 0.36, device: 'Phone' }))).toEqual({
      document: DOC,
      timestamp: epochAt(3),
      ...BOOK1,
    });
    expect(
      tableRows(t.files.appDb, 'book_read_link').map((r) => ({ user_id: r.user_id, book_id: r.book_id, read_status: r.read_status })),
    ).toEqual([{ user_id: DAVE_ID, book_id: 1, read_status: 2 }]);

    // erin's document is not dave's: still unmatched for her, her push writes no read status.
    expect(erinBefore).toEqual({
      documents: [{ document: DOC, book: null, match: null, reason: 'metadata-absent', ...position(20, 'Kobo', 1) }],
    });
    await push(t, DOC, 25, 'Kobo', ERIN);
    expect(json(await put(t.app, { document: DOC, progress: 'p', percentage: 0.26, device: 'Kobo' }, ERIN))).toEqual({
      document: DOC,
      timestamp: epochAt(4),
    });
    expect(ok(await api(t, 'GET', '/documents', undefined, ERIN))).toMatchObject({
      documents: [{ document: DOC, book: null, match: null }],
    });
    expect(tableRows(t.files.appDb, 'book_read_link').map((r) => r.user_id)).toEqual([DAVE_ID]);
    expect(query(t.files.appDb, 'SELECT user_id FROM book_read_link WHERE user_id = ?', ERIN_ID)).toEqual([]);
  });

  it('unlinks: the document matches as it would without the link', async () => {
    const t = await scanned();
    await push(t, DOC, 30, 'Phone');
    await api(t, 'PUT', `/documents/${DOC}/book`, { book_id: 2 });
    expect(ok(await api(t, 'GET', '/documents'))).toMatchObject({
      documents: [{ book: { id: 2, title: 'Gears of the Clockwork City', authors: ['Tobias Renn'], format: 'EPUB' }, match: 'manual' }],
    });
    expect(ok(await api(t, 'DELETE', `/documents/${DOC}/book`))).toEqual({
      document: DOC,
      book: null,
      match: null,
      reason: 'metadata-absent',
      ...position(30, 'Phone', 0),
    });
    expect(query(t.files.stateDb, 'SELECT * FROM document_links')).toEqual([]);
  });

  it('refuses a book the library does not have, a bad book_id, and a document the reader never synced', async () => {
    const t = await scanned();
    await push(t, DOC, 30, 'Phone');
    const noBook = await api(t, 'PUT', `/documents/${DOC}/book`, { book_id: 99 });
    expect([noBook.statusCode, json(noBook)]).toEqual([404, { code: 2000, message: 'No such book in the library' }]);
    const bad = await api(t, 'PUT', `/documents/${DOC}/book`, { book_id: '1' });
    expect([bad.statusCode, json(bad)]).toEqual([403, { code: 2003, message: 'Invalid book_id field' }]);
    const never = await api(t, 'PUT', `/documents/${DOC}/book`, { book_id: 1 }, ERIN);
    expect([never.statusCode, json(never)]).toEqual([404, { code: 2000, message: 'No such document among your synced documents' }]);
    expect(query(t.files.stateDb, 'SELECT * FROM document_links')).toEqual([]);
  });
});

describe('GET BASE/api/v1/books', () => {
  it('finds library books by words of their title or authors, accents and case ignored', async () => {
    const t = await scanned();
    expect(ok(await api(t, 'GET', '/books?q=LIGHT'))).toEqual({
      books: [{ id: 1, title: 'The Quiet Lighthouse', authors: ['Mara Ellison'], formats: ['EPUB'] }],
    });
    expect(ok(await api(t, 'GET', '/books?q=uber%20angstrom'))).toEqual({
      books: [{ id: 3, title: 'Über den Fluss', authors: ['Zoë Ångström'], formats: ['EPUB'] }],
    });
    expect(ok(await api(t, 'GET', '/books?q=renn'))).toEqual({
      books: [{ id: 2, title: 'Gears of the Clockwork City', authors: ['Tobias Renn'], formats: ['EPUB', 'PDF'] }],
    });
    expect(ok(await api(t, 'GET', '/books?q=zebra'))).toEqual({ books: [] });
    const empty = await api(t, 'GET', '/books?q=');
    expect([empty.statusCode, json(empty)]).toEqual([403, { code: 2003, message: 'Invalid q field' }]);
  });
});
