import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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

  it('reads a large library a page at a time, letting the event loop turn between pages', async () => {
    t = await testApp({ library: 'calibre', calibreWrites: true });
    const metadata = new Database(join(t.files.library!, 'metadata.db'));
    // calibre's triggers call its own SQL functions.
    metadata.function('title_sort', (title: unknown) => String(title));
    metadata.function('uuid4', () => randomUUID());
    metadata.transaction(() => {
      for (let id = 1000; id < 2100; id++) {
        metadata
          .prepare('INSERT INTO books (id, title, sort, author_sort, path) VALUES (?, ?, ?, ?, ?)')
          .run(id, `B${id}`, `B${id}`, '', `B/${id}`);
        metadata.prepare(`INSERT INTO data (book, format, uncompressed_size, name) VALUES (?, 'EPUB', 1, ?)`).run(id, `B${id}`);
      }
    })();
    metadata.close();
    // A chain of immediates counts the event loop's turns; each read of metadata.db notes the count.
    let turns = 0;
    let counting = true;
    const turn = () => {
      turns++;
      if (counting) setImmediate(turn);
    };
    setImmediate(turn);
    const conn = t.databases.calibreDb!.conn;
    const all = conn.all.bind(conn) as (...args: unknown[]) => unknown[];
    const reads: number[] = [];
    conn.all = ((...args: unknown[]) => {
      reads.push(turns);
      return all(...args);
    }) as typeof conn.all;
    const summary = await t.library!.scanner.scan();
    counting = false;
    expect(summary).toMatchObject({ files: 1106, hashed: 6, missing: 1100 });
    // 1,106 formats: three pages of 500 and the empty read that ends them, each on a later turn.
    expect(reads).toHaveLength(4);
    for (let i = 1; i < reads.length; i++) expect(reads[i]).toBeGreaterThan(reads[i - 1]!);
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
