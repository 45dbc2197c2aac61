import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT } from '../src/app.js';
import { storedAt, testApp, type TestApp } from './support/app.js';
import { DAVE_ID, query } from './support/fixtures.js';
import { DAVE, get, json, put, UNKNOWN_DOC } from './support/requests.js';

const VALID = {
  document: UNKNOWN_DOC,
  progress: '/body/DocFragment[4]/body/p[2]/text().17',
  percentage: 0.4567,
  device: 'KOReader',
  device_id: 'A1B2C3',
};

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

const storedPercentage = (document: string) =>
  query<{ percentage: number }>(t.files.appDb, 'SELECT percentage FROM kosync_progress WHERE document = ?', document)[0]?.percentage;

describe("PUT field rules (the original's, with the reference server's statuses)", () => {
  it.each([
    ['a document of 255 characters', { document: 'd'.repeat(255) }, 200],
    ['a document of 256 characters', { document: 'd'.repeat(256) }, 403],
    ['a document with a colon', { document: 'invalid:colon' }, 403],
    ['a document with a slash', { document: 'a/b' }, 403],
    ['an empty document', { document: '' }, 403],
    ['a missing document', { document: undefined }, 403],
    ['a document that is a number', { document: 42 }, 403],
    ['progress of 255 characters', { progress: 'p'.repeat(255) }, 200],
    ['progress of 256 characters', { progress: 'p'.repeat(256) }, 403],
    ['a device of 100 characters', { device: 'v'.repeat(100) }, 200],
    ['a device of 101 characters', { device: 'v'.repeat(101) }, 403],
    ['a device_id of 100 characters', { device_id: 'i'.repeat(100) }, 200],
    ['a device_id of 101 characters', { device_id: 'i'.repeat(101) }, 403],
    ['no device_id', { device_id: undefined }, 200],
    ['a null device_id', { device_id: null }, 200],
  ])('%s → %i', async (_case, change, status) => {
    const response = await put(t.app, { ...VALID, ...change });
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toBe('application/json');
  });

  it.each([
    ['a document with a colon', { document: 'a:b' }, { code: 2004, message: 'Invalid document field' }],
    ['a missing device', { device: undefined }, { code: 2003, message: 'Missing required fields' }],
    ['a missing progress', { progress: undefined }, { code: 2003, message: 'Missing required fields' }],
    ['an empty progress', { progress: '' }, { code: 2003, message: 'Missing required fields' }],
    ['a missing percentage', { percentage: undefined }, { code: 2003, message: 'Missing required fields' }],
    ['a null percentage', { percentage: null }, { code: 2003, message: 'Missing required fields' }],
    ['progress that is not a string', { progress: 12 }, { code: 2003, message: 'Invalid progress field' }],
    ['a device that is not a string', { device: ['x'] }, { code: 2003, message: 'Invalid device field' }],
    ['a device_id that is not a string', { device_id: 7 }, { code: 2003, message: 'Invalid device_id field' }],
    ['percentage 150', { percentage: 150 }, { code: 2003, message: 'Invalid percentage value: Percentage out of range' }],
    ['percentage -0.5', { percentage: -0.5 }, { code: 2003, message: 'Invalid percentage value: Percentage out of range' }],
    [
      'a percentage that is not a number',
      { percentage: 'half' },
      { code: 2003, message: 'Invalid percentage value: could not convert "half" to a number' },
    ],
  ])('refuses %s with the exact error', async (_case, change, body) => {
    const response = await put(t.app, { ...VALID, ...change });
    expect(response.statusCode).toBe(403);
    expect(json(response)).toEqual(body);
  });

  it.each([
    ['0.5', 0.5, 50],
    ['1.0', 1.0, 100],
    ['1.5, which means 1.5 %', 1.5, 1.5],
    ['50', 50, 50],
    ['"0.25", a numeric string', '0.25', 25],
    ['0', 0, 0],
    ['0.07, stored as Python stores it', 0.07, 7.000000000000001],
    ['100', 100, 100],
  ])('stores percentage %s on the 0–100 scale', async (name, percentage, stored) => {
    const document = `pct-${name.replace(/\W/g, '')}`;
    const response = await put(t.app, { ...VALID, document, percentage });
    expect(response.statusCode).toBe(200);
    expect(storedPercentage(document)).toBe(stored);
  });

  it.each([
    ['a JSON array', '[1,2]'],
    ['an empty object', '{}'],
    ['invalid JSON', '{"document":'],
    ['a JSON string', '"x"'],
    ['null', 'null'],
  ])('refuses %s as the body with 403 code 2003', async (_case, body) => {
    const response = await put(t.app, body);
    expect(response.statusCode).toBe(403);
    expect((json(response) as { code: number }).code).toBe(2003);
  });

  it('accepts a JSON body whatever its Content-Type says, as the reference server does', async () => {
    const response = await t.app.inject({
      method: 'PUT',
      url: '/kosync/syncs/progress',
      headers: { ...DAVE, 'content-type': 'text/plain' },
      payload: JSON.stringify({ ...VALID, document: 'plain-text-body' }),
    });
    expect(response.statusCode).toBe(200);
  });

  it("accepts and ignores unknown fields such as KOReader's metadata", async () => {
    const response = await put(t.app, { ...VALID, document: 'with-metadata', metadata: { title: 'T', authors: 'A' }, extra: [1] });
    expect(response.statusCode).toBe(200);
    expect(query(t.files.appDb, "SELECT * FROM kosync_progress WHERE document = 'with-metadata'")).toEqual([
      {
        id: expect.any(Number),
        user_id: DAVE_ID,
        document: 'with-metadata',
        progress: VALID.progress,
        percentage: 45.67,
        device: 'KOReader',
        device_id: 'A1B2C3',
        timestamp: storedAt(0),
      },
    ]);
    // Hints that match no book leave nothing behind: no read status, no learnt document id.
    expect(query(t.files.appDb, 'SELECT * FROM book_read_link')).toEqual([]);
    expect(query(t.files.stateDb, "SELECT * FROM document_ids WHERE document = 'with-metadata'")).toEqual([]);
  });

  it('answers a body over the limit with 413 JSON', async () => {
    const response = await put(t.app, { ...VALID, progress: 'x'.repeat(BODY_LIMIT) });
    expect(response.statusCode).toBe(413);
    expect(json(response)).toEqual({ code: 2003, message: 'Request body too large' });
  });

  it('answers deeply nested JSON with 403, not a crash', async () => {
    const response = await put(t.app, `${'['.repeat(5000)}${']'.repeat(5000)}`);
    expect(response.statusCode).toBe(403);
  });
});

describe('GET document rules', () => {
  it('answers exactly {} for a document with no progress', async () => {
    const response = await get(t.app, 'ffffffffffffffffffffffffffffffff');
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('{}');
    expect(response.headers['content-type']).toBe('application/json');
  });

  it.each([
    ['a colon', 'a:b'],
    ['a slash', 'a/b'],
    ['256 characters', 'd'.repeat(256)],
  ])('refuses a document with %s with 403 code 2004', async (_case, document) => {
    const response = await get(t.app, document);
    expect(response.statusCode).toBe(403);
    expect(json(response)).toEqual({ code: 2004, message: 'Invalid document field' });
  });

  it('refuses an empty document with 403 code 2004', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/kosync/syncs/progress/', headers: DAVE });
    expect(response.statusCode).toBe(403);
    expect(json(response)).toEqual({ code: 2004, message: 'Invalid document field' });
  });

  it('echoes a percent-encoded document as decoded', async () => {
    await put(t.app, { ...VALID, document: 'with space' });
    const response = await get(t.app, 'with%20space');
    expect((json(response) as { document: string }).document).toBe('with space');
  });
});
