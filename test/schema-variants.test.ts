import { describe, expect, it } from 'vitest';
import { testApp } from './support/app.js';
import { execute, query } from './support/fixtures.js';
import { BOOK1_EPUB, get, json, put } from './support/requests.js';

/** The kosync_progress DDLs found in real app.db files (docs/UPSTREAM.md#cwa-kosync_progress). */
const VARIANTS = {
  'B: CWA raw DDL with AUTOINCREMENT, defaults and indexes':
    'CREATE TABLE kosync_progress (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, document TEXT NOT NULL, ' +
    'progress TEXT NOT NULL, percentage REAL NOT NULL, device TEXT NOT NULL, device_id TEXT, ' +
    'timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP, FOREIGN KEY (user_id) REFERENCES user(id) ON DELETE CASCADE);\n' +
    `    CREATE INDEX idx_kosync_user_document ON kosync_progress(user_id, document);
    CREATE INDEX idx_kosync_document ON kosync_progress(document);`,
  'C: CWA v3.1 DDL with DATETIME and no CASCADE': `CREATE TABLE kosync_progress (
	id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	document VARCHAR NOT NULL, 
	progress VARCHAR NOT NULL, 
	percentage FLOAT NOT NULL, 
	device VARCHAR NOT NULL, 
	device_id VARCHAR, 
	timestamp DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES user (id)
)`,
};

describe('kosync_progress tables created by older CWA versions', () => {
  it.each(Object.entries(VARIANTS))('works unchanged with variant %s', async (_name, ddl) => {
    const t = await testApp({ prepare: (files) => execute(files.appDb, ddl) });
    try {
      const schemaBefore = query(t.files.appDb, `SELECT name, sql FROM sqlite_master ORDER BY name`);
      const pushed = await put(t.app, { document: BOOK1_EPUB, progress: '5', percentage: 0.5, device: 'KOReader' });
      expect(pushed.statusCode).toBe(200);
      expect(json(await get(t.app, BOOK1_EPUB))).toMatchObject({ progress: '5', percentage: 0.5 });
      expect(query(t.files.appDb, 'SELECT id, user_id, document, percentage FROM kosync_progress')).toEqual([
        { id: 1, user_id: 6, document: BOOK1_EPUB, percentage: 50 },
      ]);
      expect(query(t.files.appDb, `SELECT name, sql FROM sqlite_master ORDER BY name`)).toEqual(schemaBefore);
    } finally {
      await t.close();
    }
  });

  it('leaves the journal mode of app.db as it found it', async () => {
    const t = await testApp();
    try {
      await put(t.app, { document: BOOK1_EPUB, progress: '5', percentage: 0.5, device: 'KOReader' });
      expect(query(t.files.appDb, 'PRAGMA journal_mode')).toEqual([{ journal_mode: 'delete' }]);
    } finally {
      await t.close();
    }
  });

  it('works on an app.db in WAL mode, as CWA runs it', async () => {
    const t = await testApp({ prepare: (files) => execute(files.appDb, 'PRAGMA journal_mode = WAL') });
    try {
      const pushed = await put(t.app, { document: BOOK1_EPUB, progress: '5', percentage: 0.5, device: 'KOReader' });
      expect(pushed.statusCode).toBe(200);
      expect(query(t.files.appDb, 'PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    } finally {
      await t.close();
    }
  });
});
