import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { partialMd5 } from '../src/checksums/partial-md5.js';
import { loadConfig } from '../src/config.js';
import { openDatabases } from '../src/databases.js';
import { prepareDemo } from '../src/demo.js';
import { basic } from './support/app.js';
import { query } from './support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'kosync-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('demo data', () => {
  it('builds an app.db and a library from schema/ whose books match by their KOReader checksums', async () => {
    const demo = await prepareDemo(join(dir, 'demo-data'));
    expect(demo.books).toHaveLength(2);
    for (const book of demo.books) expect(await partialMd5(book.file)).toBe(book.checksum);
    expect(query(demo.appDb, `SELECT name, role, substr(password, 1, 17) AS method FROM user ORDER BY id`)).toEqual([
      { name: 'Guest', role: 32, method: '' },
      { name: 'demo', role: 258, method: 'scrypt:32768:8:1$' },
    ]);

    const config = loadConfig({ KOSYNC_APP_DB: demo.appDb, KOSYNC_LOG_LEVEL: 'silent' });
    const databases = openDatabases(config, { warn: () => {} });
    const app = await buildApp(config, { databases });
    try {
      const book = demo.books[0]!;
      const response = await app.inject({
        method: 'PUT',
        url: '/kosync/syncs/progress',
        headers: { ...basic('demo', 'demo'), 'content-type': 'application/json' },
        payload: { document: book.checksum, progress: '1', percentage: 0.5, device: 'test' },
      });
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({
        calibre_book_id: book.id,
        calibre_book_title: book.title,
        calibre_book_format: 'PDF',
      });
    } finally {
      await app.close();
      databases.close();
    }
  });

  it('reuses the demo data on the next start', async () => {
    const first = await prepareDemo(join(dir, 'again'));
    const hash = query(first.appDb, `SELECT password FROM user WHERE name = 'demo'`);
    const second = await prepareDemo(join(dir, 'again'));
    expect(query(second.appDb, `SELECT password FROM user WHERE name = 'demo'`)).toEqual(hash);
  });
});
