import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, testApp, type TestApp } from './support/app.js';
import { healthcheck } from './support/requests.js';

const BOOK1_EPUB = 'e1dbc3a8ba7a76e2bc720bd6815715b0';

/** Paths near the real routes, and junk: encoded bytes, dot segments, long and odd documents. */
const path = fc.oneof(
  fc.constantFrom(
    '/kosync/users/auth',
    '/kosync/users/create',
    '/kosync/syncs/progress',
    `/kosync/syncs/progress/${BOOK1_EPUB}`,
    '/kosync/syncs/progress/',
    '/kosync/healthcheck',
    '//kosync//users//auth/',
    '/kosync/syncs/progress/a%2Fb',
    '/kosync/syncs/progress/%ff%fe',
    '/kosync/syncs/progress/%',
    '/kosync/../etc/passwd',
    '/users/auth',
    '/',
    '*',
  ),
  fc.string({ maxLength: 300 }).map((doc) => `/kosync/syncs/progress/${encodeURIComponent(doc)}`),
  fc.stringMatching(/^[A-Za-z0-9%._~\-/:;=?&]{0,400}$/).map((rest) => `/kosync/${rest}`),
);

const headerText = fc.stringMatching(/^[\x20-\x7e\x80-\xff]{0,200}$/);
const credentials = fc.oneof(
  fc.constant({}),
  fc.constant(basic('dave', 'oldtimer')),
  fc
    .record({ user: fc.constantFrom('dave', 'nobody', 'Guest', 'ldapuser', ''), password: fc.string({ maxLength: 40 }) })
    .map(({ user, password }) => basic(user, password)),
  headerText.map((value) => ({ authorization: value })),
  headerText.map((value) => ({ authorization: `Basic ${value}` })),
  fc.record({ 'x-auth-user': headerText, 'x-auth-key': headerText }),
);
const otherHeaders = fc.dictionary(
  fc.constantFrom(
    'content-type',
    'accept',
    'x-forwarded-for',
    'x-forwarded-host',
    'x-forwarded-proto',
    'content-encoding',
    'x-request-id',
    'cookie',
  ),
  headerText,
  { maxKeys: 4 },
);

/** Whether a URL names the HTML page at BASE (after dot segments and repeated slashes are resolved). */
function pagePath(url: string): boolean {
  let pathname: string;
  try {
    pathname = new URL(url.replace(/\/{2,}/g, '/'), 'http://sidecar').pathname;
  } catch {
    return false;
  }
  return pathname.replace(/\/+/g, '/').replace(/\/$/, '') === '/kosync';
}

function deepJson(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}
const body = fc.oneof(
  fc.constant(undefined),
  fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom(Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('{"document":"\xff"}', 'latin1')),
  fc.integer({ min: 1, max: 5000 }).map(deepJson),
  fc.integer({ min: 1, max: 200 }).map((depth) => `{"document":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`),
  fc.json({ maxDepth: 4 }),
  fc
    .record(
      {
        document: fc.oneof(fc.constant(BOOK1_EPUB), fc.string({ maxLength: 300 }), fc.integer(), fc.constant(null)),
        progress: fc.oneof(fc.string({ maxLength: 300 }), fc.double(), fc.constant(null)),
        percentage: fc.oneof(fc.double(), fc.string({ maxLength: 20 }), fc.constant(null), fc.boolean()),
        device: fc.oneof(fc.string({ maxLength: 120 }), fc.integer()),
        device_id: fc.oneof(fc.string({ maxLength: 120 }), fc.constant(null)),
      },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value)),
  fc.integer({ min: 16 * 1024 - 10, max: 20 * 1024 }).map((size) => 'x'.repeat(size)),
);

const request = fc.record({
  method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
  url: path,
  headers: fc.tuple(credentials, otherHeaders).map(([a, b]) => ({ ...b, ...a })),
  payload: body,
  remoteAddress: fc.constantFrom('192.0.2.1', '192.0.2.2', '2001:db8::1'),
});

describe('random requests', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.close());

  it('never get a 5xx other than 503, never crash the server, and get JSON on every JSON route', async () => {
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(request, async ({ method, url, headers, payload, remoteAddress }) => {
        sent++;
        const response = await t.app.inject({ method, url, headers, remoteAddress, ...(payload === undefined ? {} : { payload }) });
        expect(response.statusCode < 500 || response.statusCode === 503, `${response.statusCode} ${response.body}`).toBe(true);
        const isPage = ['GET', 'POST'].includes(method) && pagePath(url);
        if (method !== 'HEAD' && !isPage) {
          expect(response.headers['content-type']).toBe('application/json');
          const parsed = JSON.parse(response.body) as Record<string, unknown>;
          if (response.statusCode >= 400) expect(Object.keys(parsed).sort()).toEqual(['code', 'message']);
        }
      }),
      { numRuns: 2200 },
    );
    expect(sent).toBeGreaterThanOrEqual(2000);
    // Still serving normally afterwards.
    const health = await healthcheck(t.app);
    expect([health.statusCode, health.body]).toEqual([200, '{"state":"OK"}']);
  }, 120_000);
});
