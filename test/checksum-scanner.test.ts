import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from './support/app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const BOOK4_PATH = 'Priya Natarajan/A Field Guide to Small Birds (4)/A Field Guide to Small Birds - Priya Natarajan.epub';

describe('the background scanner', () => {
  it('starts when the server is ready and logs the first scan with its counts', async () => {
    const lines: string[] = [];
    t = await testApp({ library: 'calibre', env: { KOSYNC_LOG_LEVEL: 'info' }, logStream: { write: (line) => lines.push(line) } });
    expect(t.library!.scanner.status()).toEqual({
      running: false,
      firstScan: { done: 0, total: 0, complete: false },
      current: undefined,
      lastScan: undefined,
    });
    await t.app.ready();
    await t.library!.scanner.idle();
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l.msg).startsWith('checksum index'));
    expect(logged.map((l) => l.msg)).toEqual(['checksum index: first scan started', 'checksum index: first scan done']);
    expect(logged[0]).toMatchObject({ level: 30, total: 6 });
    expect(logged[1]).toMatchObject({ level: 30, files: 6, hashed: 6, unchanged: 0, missing: 0, removed: 0, failed: 0, full: false });
    expect(t.library!.scanner.status().firstScan).toEqual({ done: 6, total: 6, complete: true });
  });

  it('refreshes on its interval and picks up a changed file', async () => {
    t = await testApp({ library: 'calibre', env: { KOSYNC_SCAN_INTERVAL: '1' } });
    await t.app.ready();
    const scanner = t.library!.scanner;
    await scanner.idle();
    appendFileSync(join(t.files.library!, BOOK4_PATH), 'x');
    await expect.poll(() => scanner.status().lastScan?.hashed, { timeout: 5000, interval: 100 }).toBe(1);
    expect(scanner.status().lastScan).toMatchObject({ files: 6, hashed: 1, unchanged: 5 });
  });

  it('stops with the server: a closed app runs no further scan', async () => {
    t = await testApp({ library: 'calibre', env: { KOSYNC_SCAN_INTERVAL: '1' } });
    await t.app.ready();
    const scanner = t.library!.scanner;
    await t.app.close();
    expect(scanner.status().running).toBe(false);
    scanner.requestRefresh();
    await expect(scanner.scan()).rejects.toThrow('the checksum scan was stopped or failed');
  });
});
