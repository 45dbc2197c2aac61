import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from './support/app.js';
import { BOOK1_EPUB, DAVE, get, signIn } from './support/requests.js';

describe('the access log', () => {
  let t: TestApp;
  const lines: string[] = [];
  beforeAll(async () => {
    t = await testApp({ env: { KOSYNC_LOG_LEVEL: 'info' }, logStream: { write: (line: string) => void lines.push(line) } });
    await t.app.ready();
    lines.length = 0;
    await get(t.app, `${BOOK1_EPUB}?secret=x`);
    await signIn(t.app);
  });
  afterAll(() => t.close());

  it('writes one line per request, request id first, then who, what, the answer and how long', () => {
    const access = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
    expect(access).toHaveLength(2);
    const [pull, anonymous] = access.map(({ time, pid, hostname, ms, ...rest }) => {
      expect([typeof time, typeof pid, typeof hostname, typeof ms]).toEqual(['number', 'number', 'string', 'number']);
      return rest;
    });
    expect(Object.keys(JSON.parse(lines.find((l) => l.includes('"msg":"request"'))!))).toEqual([
      'level',
      'time',
      'pid',
      'hostname',
      'reqId',
      'user',
      'method',
      'route',
      'path',
      'status',
      'ms',
      'ip',
      'msg',
    ]);
    expect(pull).toEqual({
      level: 30,
      reqId: 'req-1',
      user: 'dave',
      method: 'GET',
      route: '/kosync/syncs/progress/:document',
      path: `/kosync/syncs/progress/${BOOK1_EPUB}`,
      status: 200,
      ip: '127.0.0.1',
      msg: 'request',
    });
    expect(anonymous).toEqual({
      level: 30,
      reqId: 'req-2',
      method: 'GET',
      route: '/kosync/users/auth',
      path: '/kosync/users/auth',
      status: 401,
      ip: '127.0.0.1',
      msg: 'request',
    });
  });

  it("logs the container's passing healthcheck probes at debug, other healthchecks and failing probes at info", async () => {
    const logged: string[] = [];
    const h = await testApp({ env: { KOSYNC_LOG_LEVEL: 'debug' }, logStream: { write: (line: string) => void logged.push(line) } });
    try {
      const probe = { 'user-agent': 'calibre-web-kosync-healthcheck' };
      expect((await h.app.inject({ method: 'GET', url: '/kosync/healthcheck', headers: probe })).statusCode).toBe(200);
      expect(
        (await h.app.inject({ method: 'GET', url: '/kosync/healthcheck', headers: { 'user-agent': 'uptime-monitor' } })).statusCode,
      ).toBe(200);
      expect((await h.app.inject({ method: 'GET', url: '/kosync/healthcheckx', headers: probe })).statusCode).toBe(404);
      h.databases.appDb.close();
      expect((await h.app.inject({ method: 'GET', url: '/kosync/healthcheck', headers: probe })).statusCode).not.toBe(200);
      const levels = logged
        .map((l) => JSON.parse(l) as { msg: string; level: number; path: string; status: number })
        .filter((l) => l.msg === 'request')
        .map(({ level, path, status }) => ({ level, path, status }));
      expect(levels.slice(0, 3)).toEqual([
        { level: 20, path: '/kosync/healthcheck', status: 200 },
        { level: 30, path: '/kosync/healthcheck', status: 200 },
        { level: 30, path: '/kosync/healthcheckx', status: 404 },
      ]);
      expect(levels[3]).toMatchObject({ level: 30, path: '/kosync/healthcheck' });
    } finally {
      await h.app.close();
      h.files.remove();
    }
  });

  it('is left out below level info', async () => {
    const quiet: string[] = [];
    const q = await testApp({ env: { KOSYNC_LOG_LEVEL: 'warn' }, logStream: { write: (line: string) => void quiet.push(line) } });
    try {
      expect((await get(q.app, BOOK1_EPUB, DAVE)).statusCode).toBe(200);
      expect(quiet.filter((l) => l.includes('"msg":"request"'))).toEqual([]);
    } finally {
      await q.close();
    }
  });
});
