import { afterEach, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from './support/app.js';
import { query } from './support/fixtures.js';
import { DAVE, json, put, UNKNOWN_DOC } from './support/requests.js';

// JSON text, not objects: JSON.stringify would never write a lone surrogate as an escape this way.
const LONE_HIGH = '\\ud800';
const LONE_LOW = '\\udc00';
const REVERSED_PAIR = '\\udc00\\ud800';

/** A valid push as JSON text with one field (metadata ones as `metadata.x`) replaced by raw JSON. */
function pushWith(field: string, rawJson: string): string {
  const body: Record<string, string> = {
    document: '"0123456789abcdef0123456789abcdef"',
    progress: '"/body/DocFragment[3]"',
    percentage: '0.25',
    device: '"KOReader"',
    device_id: '"DEV1"',
  };
  const metadata: Record<string, string> = { title: '"The Quiet Lighthouse"', authors: '"Ada Lovelace"', filename: '"q.epub"' };
  if (field.startsWith('metadata.')) metadata[field.slice('metadata.'.length)] = rawJson;
  else body[field] = rawJson;
  const members = Object.entries(body).map(([k, v]) => `"${k}":${v}`);
  members.push(
    `"metadata":{${Object.entries(metadata)
      .map(([k, v]) => `"${k}":${v}`)
      .join(',')}}`,
  );
  return `{${members.join(',')}}`;
}

const CASES = [
  { field: 'document', status: 403, body: { code: 2004, message: 'Invalid document field' } },
  { field: 'progress', status: 403, body: { code: 2003, message: 'Invalid progress field' } },
  { field: 'device', status: 403, body: { code: 2003, message: 'Invalid device field' } },
  { field: 'device_id', status: 403, body: { code: 2003, message: 'Invalid device_id field' } },
  { field: 'metadata.title', status: 403, body: { code: 2003, message: 'Invalid metadata field' } },
  { field: 'metadata.authors', status: 403, body: { code: 2003, message: 'Invalid metadata field' } },
  { field: 'metadata.filename', status: 403, body: { code: 2003, message: 'Invalid metadata field' } },
];

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const progressRows = () => query(t!.files.appDb, 'SELECT * FROM kosync_progress');
const aliasRows = () => query(t!.files.stateDb, "SELECT * FROM document_ids WHERE method = 'metadata'");

describe('text that is not well-formed UTF-16 (a lone surrogate Python cannot read back)', () => {
  for (const { field, status, body } of CASES) {
    it(`refuses a lone surrogate in ${field} with ${body.code}/${status} and writes nothing`, async () => {
      t = await testApp();
      for (const text of [`"${LONE_HIGH}"`, `"abc${LONE_LOW}"`, `"${REVERSED_PAIR}"`]) {
        const response = await put(t.app, pushWith(field, text));
        expect([text, response.statusCode, json(response)]).toEqual([text, status, body]);
      }
      expect(progressRows()).toEqual([]);
      expect(aliasRows()).toEqual([]);
    });
  }

  it('accepts a proper surrogate pair (an emoji) and stores it as valid UTF-8', async () => {
    t = await testApp();
    const response = await put(t.app, pushWith('device', '"Kobo \\ud83d\\udcd6"'));
    expect(response.statusCode).toBe(200);
    expect(query(t.files.appDb, 'SELECT device, hex(device) AS bytes FROM kosync_progress')).toEqual([
      { device: 'Kobo 📖', bytes: '4B6F626F20F09F9396' },
    ]);
  });

  it('answers the encoded lone surrogate as a GET document with 2004 after authentication, 401 before', async () => {
    t = await testApp();
    for (const document of ['%ED%A0%80', 'abc%ED%B0%80', '%F0%9F']) {
      const stranger = await t.app.inject({ method: 'GET', url: `/kosync/syncs/progress/${document}` });
      expect([document, stranger.statusCode, json(stranger)]).toEqual([document, 401, { code: 2001, message: 'Unauthorized' }]);
      const user = await t.app.inject({ method: 'GET', url: `/kosync/syncs/progress/${document}`, headers: DAVE });
      expect([document, user.statusCode, json(user)]).toEqual([document, 403, { code: 2004, message: 'Invalid document field' }]);
    }
    // Still the route's own answer for a good document.
    const good = await t.app.inject({ method: 'GET', url: `/kosync/syncs/progress/${UNKNOWN_DOC}`, headers: DAVE });
    expect([good.statusCode, json(good)]).toEqual([200, {}]);
  });
});
