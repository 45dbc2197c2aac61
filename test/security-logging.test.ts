import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, testApp, type TestApp } from './support/app.js';
import { md5 } from './support/keys.js';
import { DAVE, put, signIn } from './support/requests.js';

const SECRETS = ['oldtimer', 'hunter2-wrong', 'wonderland', 'admin123'];
const KEY = md5('oldtimer');

describe('what the logs contain', () => {
  let t: TestApp;
  const lines: string[] = [];
  beforeAll(async () => {
    t = await testApp({ library: null, env: { KOSYNC_LOG_LEVEL: 'trace' }, logStream: { write: (line: string) => void lines.push(line) } });
    // A route that logs a request's headers, as a careless future log line might.
    t.app.get('/kosync/test-log-headers', async (request) => {
      request.log.info({ headers: request.headers, credentials: { password: 'oldtimer', secret: 'oldtimer' } }, 'headers');
      return 'ok';
    });
    await t.app.ready();
    lines.length = 0;
    await signIn(t.app, DAVE);
    await signIn(t.app, basic('dave', 'hunter2-wrong'));
    await signIn(t.app, basic('alice', 'wonderland'));
    await signIn(t.app, { 'x-auth-user': 'dave', 'x-auth-key': KEY });
    await put(t.app, { document: 'log-doc', progress: '1', percentage: 0.1, device: 'log-test' }, basic('admin', 'admin123'));
    await put(t.app, 'x'.repeat(20_000));
    await t.app.inject({ method: 'GET', url: '/kosync/nowhere', headers: DAVE });
    await t.app.inject({
      method: 'GET',
      url: '/kosync/test-log-headers',
      headers: { ...DAVE, 'x-auth-user': 'dave', 'x-auth-key': KEY, cookie: 'session=abc' },
    });
  });
  afterAll(() => t.close());

  it('never holds a password, a Basic credential, an x-auth-key or a cookie, even when headers are logged', () => {
    expect(lines.length).toBeGreaterThanOrEqual(9);
    const text = lines.join('');
    const encoded = [DAVE.authorization, basic('dave', 'hunter2-wrong').authorization, basic('admin', 'admin123').authorization].map((h) =>
      h.slice(6),
    );
    for (const secret of [...SECRETS, ...encoded, KEY, KEY.slice(0, 16), 'session=abc']) expect(text).not.toContain(secret);
    const logged = lines
      .map((l) => JSON.parse(l) as { msg: string; headers: Record<string, string>; credentials: unknown })
      .find((l) => l.msg === 'headers')!;
    expect(logged.headers.authorization).toBe('[redacted]');
    expect(logged.headers['x-auth-key']).toBe('[redacted]');
    expect(logged.headers.cookie).toBe('[redacted]');
    expect(logged.credentials).toEqual({ password: '[redacted]', secret: '[redacted]' });
    expect(logged.headers['x-auth-user']).toBe('dave');
  });

  it('carries the request id on every line logged while serving a request', () => {
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.filter((l) => typeof l.reqId !== 'string')).toEqual([]);
    expect(new Set(parsed.map((l) => l.reqId)).size).toBe(8);
  });
});
