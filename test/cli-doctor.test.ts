import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KOSYNC_PROGRESS_DDL } from '../src/db/app-db.js';
import { cli } from './support/cli.js';
import { copyFixtures, execute, type FixtureCopy, type FixtureOptions } from './support/fixtures.js';
import { type Slapd, slapdMissing, startSlapd } from './support/slapd.js';
import { freePort } from './support/ports.js';
import { skipWithout } from './support/system.js';

/** A port where nothing listens, so "is a server running" always reads the same. */
let closedPort: number;
beforeAll(async () => {
  closedPort = await freePort();
});

const copies: FixtureCopy[] = [];
afterEach(() => {
  for (const copy of copies.splice(0)) copy.remove();
});

function fixture(options: FixtureOptions = {}): FixtureCopy {
  const copy = copyFixtures(options);
  copies.push(copy);
  return copy;
}

/** `doctor` with the settings as flags (every variable is one), as a user would type it. */
function doctor(files: FixtureCopy, extra: string[] = []) {
  return cli(
    ['doctor', '--app-db', files.appDb, ...(files.library ? ['--library', files.library] : []), '--port', String(closedPort), ...extra],
    {},
  );
}

/** Every file under a folder with the hash of its bytes: what "doctor writes nothing" is checked against. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else files[path] = `${createHash('sha256').update(readFileSync(path)).digest('hex')} ${statSync(path).mtimeMs}`;
    }
  };
  walk(dir);
  return files;
}

const VARIANT_B =
  'CREATE TABLE kosync_progress (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, document TEXT NOT NULL, ' +
  'progress TEXT NOT NULL, percentage REAL NOT NULL, device TEXT NOT NULL, device_id TEXT, ' +
  'timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP, ' +
  `FOREIGN KEY (user_id) REFERENCES user(id) ON DELETE CASCADE);
CREATE INDEX idx_kosync_user_document ON kosync_progress(user_id, document); CREATE INDEX idx_kosync_document ON kosync_progress(document)`;
const VARIANT_C =
  'CREATE TABLE kosync_progress (id INTEGER NOT NULL, user_id INTEGER NOT NULL, document VARCHAR NOT NULL, progress VARCHAR NOT NULL, ' +
  'percentage FLOAT NOT NULL, device VARCHAR NOT NULL, device_id VARCHAR, timestamp DATETIME, PRIMARY KEY (id), ' +
  'FOREIGN KEY(user_id) REFERENCES user (id))';

describe('calibre-web-kosync doctor on a working setup', () => {
  it('reports each part in plain words, exits 0, and writes nothing', async () => {
    const files = fixture();
    const before = snapshot(files.dir);
    const run = await doctor(files);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines.slice(0, 12)).toEqual([
      'calibre-web-kosync doctor',
      '',
      `  ok    app.db ${files.appDb}: found, readable and writable`,
      `  ok    folder ${files.dir} is writable (SQLite puts app.db's journal there during a write)`,
      "  ok    it is Calibre-Web's app.db (8 users)",
      "  ok    kosync_progress: absent, will be created at the first start with CWA's DDL",
      '  note  journal mode: delete (left as Calibre-Web set it)',
      `  ok    state database ${files.stateDb}: will be created at the first start`,
      `  ok    metadata.db in ${files.library}: opened read-only, 5 books`,
      "  ok    CWA's checksum table book_format_checksums: present, 7 checksums",
      '  ok    library files reachable: 5 of 5 sampled are readable',
      expect.stringMatching(
        new RegExp(
          `^  note  server URL for readers: http://.+:${closedPort}/kosync directly, ` +
            'or https://<your Calibre-Web address>/kosync through the reverse proxy$',
        ),
      ),
    ]);
    expect(lines).toContain(`  note  no sync server answers on port ${closedPort} right now`);
    expect(run.stdout.endsWith('\n\nNothing blocks syncing.\n')).toBe(true);
    expect(snapshot(files.dir)).toEqual(before);
  });

  it.each([
    ["A (CWA's current form)", KOSYNC_PROGRESS_DDL],
    ["B (CWA's migrated form, with indexes)", VARIANT_B],
    ['C (the v3.1 form, no cascade)', VARIANT_C],
  ])('names the kosync_progress variant %s', async (variant, ddl) => {
    const files = fixture({ library: null });
    execute(
      files.appDb,
      `${ddl};\nINSERT INTO kosync_progress (id, user_id, document, progress, percentage, device) VALUES (1, 6, 'doc', 'p', 5, 'd')`,
    );
    const run = await doctor(files);
    expect(run.stdout).toContain(`  ok    kosync_progress: present, variant ${variant}, 1 row\n`);
  });

  it("notes a library without CWA's checksum table, and warns when no library is configured", async () => {
    const plain = await doctor(fixture({ library: 'calibre' }));
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(
      "  note  CWA's checksum table book_format_checksums: absent; books are matched through the sidecar's own checksum index\n",
    );
    const none = await doctor(fixture({ library: null }));
    expect(none.code).toBe(0);
    expect(none.stdout).toContain(
      '  WARN  no Calibre library: neither KOSYNC_LIBRARY nor config_calibre_dir in app.db is set; ' +
        'progress syncs, but no book is matched\n',
    );
  });

  it('warns, without failing, when sampled library files are not where metadata.db says', async () => {
    const files = fixture();
    rmSync(join(files.library!, 'Mara Ellison'), { recursive: true });
    const run = await doctor(files);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      '  WARN  library files: 1 of 5 sampled are missing or unreadable, ' +
        `e.g. ${join(files.library!, 'Mara Ellison/The Quiet Lighthouse (1)/The Quiet Lighthouse - Mara Ellison.epub')} ` +
        '(is the same library mounted here as in Calibre-Web?); books without a CWA checksum cannot be matched\n',
    );
  });
});

describe('calibre-web-kosync doctor on what other CWA versions and Calibre-Web downloads leave', () => {
  it('reports the rows other CWA versions left and the UNIQUE indexes CWA forks added, without failing', async () => {
    const files = fixture({ app: 'app-cwa-rows.db', library: 'calibre' });
    execute(
      files.appDb,
      'CREATE UNIQUE INDEX kosync_progress_user_document ON kosync_progress (user_id, document);' +
        'CREATE UNIQUE INDEX book_read_link_user_book ON book_read_link (user_id, book_id)',
    );
    const run = await doctor(files);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    const at = lines.indexOf("  ok    kosync_progress: present, variant A (CWA's current form), 7 rows");
    expect(lines.slice(at, at + 4)).toEqual([
      "  ok    kosync_progress: present, variant A (CWA's current form), 7 rows",
      '  note  kosync_progress holds rows other CWA versions left: 3 rows keyed by a book id (read for that book when the position ' +
        'fits the format); 1 CWNG percentage-only row (never served: no position to go to); 1 CWA v3.1 row with a 0-1 fraction ' +
        '(read as the percentage it is)',
      '  note  UNIQUE index kosync_progress_user_document on kosync_progress (user_id, document), as CWA forks add: kept satisfied, ' +
        'the sidecar updates the row of a user and document or book instead of adding one',
      '  note  UNIQUE index book_read_link_user_book on book_read_link (user_id, book_id), as CWA forks add: kept satisfied, ' +
        'the sidecar updates the row of a user and document or book instead of adding one',
    ]);
  });

  it.each([
    ['/usr/bin', null, "calibre's binaries in /usr/bin"],
    ['', '/usr/local/bin', 'kepubify in /usr/local/bin (KEPUB)'],
  ])(
    'warns when Calibre-Web embeds metadata on download (binaries %j, kepubify %j) and the download tap is not set',
    async (binaries, kepubify, what) => {
      const files = fixture();
      execute(
        files.appDb,
        `UPDATE settings SET config_embed_metadata = 1, config_binariesdir = '${binaries}', ` +
          `config_kepubifypath = ${kepubify === null ? 'NULL' : `'${kepubify}'`}`,
      );
      const run = await doctor(files);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(
        `  WARN  Calibre-Web embeds metadata into every download (${what}): a book a reader downloads from it is not the library file ` +
          'and matches no book unless the download passes through the sidecar. Set KOSYNC_CALIBRE_WEB_URL to ' +
          "Calibre-Web's address and route its download paths to the sidecar (README: the download tap), or have readers turn on " +
          "KOReader's Send document metadata\n",
      );
    },
  );

  it('says nothing of downloads when Calibre-Web serves library files unchanged (embedding off, or no binaries)', async () => {
    for (const update of [
      "config_embed_metadata = 0, config_binariesdir = '/usr/bin'",
      "config_embed_metadata = 1, config_binariesdir = ''",
    ]) {
      const files = fixture();
      execute(files.appDb, `UPDATE settings SET ${update}`);
      expect((await doctor(files)).stdout).not.toMatch(/download|embeds/);
    }
  });

  it('with the download tap set, says whether Calibre-Web answers at KOSYNC_CALIBRE_WEB_URL', async () => {
    const files = fixture();
    execute(files.appDb, "UPDATE settings SET config_embed_metadata = 1, config_binariesdir = '/usr/bin'");
    const down = await doctor(files, ['--calibre-web-url', `http://127.0.0.1:${closedPort}`]);
    expect(down.code).toBe(0);
    expect(down.stdout).toContain(
      `  WARN  download tap: nothing answers at http://127.0.0.1:${closedPort} (KOSYNC_CALIBRE_WEB_URL); ` +
        'downloads through the sidecar get 502\n',
    );
    const calibreWeb = createServer((_request, response) => response.writeHead(200).end('login page'));
    await new Promise<void>((resolve) => calibreWeb.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(calibreWeb.address() as { port: number }).port}`;
      const up = await doctor(files, ['--calibre-web-url', url]);
      expect(up.stdout).toContain(
        `  ok    download tap: Calibre-Web answers at ${url} (status 200)\n` +
          "  ok    Calibre-Web embeds metadata into downloads (calibre's binaries in /usr/bin): the tap records each file it serves\n",
      );
    } finally {
      await new Promise((resolve) => calibreWeb.close(resolve));
    }
  });
});

describe('calibre-web-kosync doctor on a broken setup exits 1 and says why', () => {
  it('when KOSYNC_APP_DB is not set', async () => {
    const run = await cli(['doctor', '--port', String(closedPort)], {});
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      '  FAIL  KOSYNC_APP_DB is not set: `serve` would run the demo instead of syncing your Calibre-Web ' +
        '(in the container it is /config/app.db)\n',
    );
    expect(run.stdout.endsWith('\n\n1 problem (FAIL) blocks syncing.\n')).toBe(true);
  });

  it('when app.db is not where it is said to be', async () => {
    const files = fixture();
    rmSync(files.appDb);
    const run = await doctor(files);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `  FAIL  app.db not found at ${files.appDb} (set KOSYNC_APP_DB to the app.db of Calibre-Web, in its config folder)\n`,
    );
  });

  it("when the file is not Calibre-Web's app.db", async () => {
    const files = fixture();
    const run = await cli(['doctor', '--app-db', join(files.library!, 'metadata.db'), '--port', String(closedPort)], {});
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `  FAIL  ${join(files.library!, 'metadata.db')} is not Calibre-Web's app.db: ` +
        'no table user, book_read_link, kobo_reading_state, kobo_bookmark, kobo_statistics\n',
    );
  });

  it('when kosync_progress lacks columns the sync writes', async () => {
    const files = fixture({ library: null });
    execute(files.appDb, 'CREATE TABLE kosync_progress (id INTEGER PRIMARY KEY, user_id INTEGER, document TEXT, progress TEXT)');
    const run = await doctor(files);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      '  FAIL  kosync_progress has no column percentage, device, device_id, timestamp: ' +
        'not a form CWA ever created, progress cannot be written\n',
    );
  });

  it('when the library folder does not exist', async () => {
    const files = fixture();
    rmSync(files.library!, { recursive: true });
    const run = await doctor(files);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `  FAIL  Calibre library folder not found: ${files.library} ` +
        '(the server will not start; set KOSYNC_LIBRARY to the folder holding metadata.db)\n',
    );
  });

  it.skipIf(process.getuid?.() === 0)(
    'when app.db is not writable by this user (skipped as root, whom no permission bit stops)',
    async () => {
      const files = fixture({ library: null });
      chmodSync(files.appDb, 0o444);
      const run = await doctor(files);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`  FAIL  app.db ${files.appDb} is not writable by uid ${process.getuid!()}, gid ${process.getgid!()}`);
    },
  );

  it('when LDAP is configured and its server does not answer', async () => {
    const files = fixture({ app: 'app-ldap.db', library: null });
    execute(files.appDb, `UPDATE settings SET config_ldap_port = ${closedPort}`);
    const run = await doctor(files);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`  ok    LDAP login is on in Calibre-Web: 127.0.0.1:${closedPort}\n`);
    expect(run.stdout).toContain(`  ok    ${join(files.dir, '.key')}: readable, decrypts the LDAP service password\n`);
    expect(run.stdout).toContain(
      `  FAIL  LDAP bind test failed: service bind: connect ECONNREFUSED 127.0.0.1:${closedPort}; ` +
        'LDAP users cannot log in (local passwords still work)\n',
    );
  });

  it('when LDAP is configured and the .key beside app.db is missing', async () => {
    const files = fixture({ app: 'app-ldap.db', library: null });
    rmSync(join(files.dir, '.key'));
    const run = await doctor(files);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `  FAIL  ${join(files.dir, '.key')} is missing or unreadable: the LDAP service password cannot be decrypted, ` +
        'so LDAP users cannot log in (local passwords still work)\n',
    );
  });

  it('when LDAP is configured and the .key beside app.db is another key than the one that encrypted the password', async () => {
    const files = fixture({ app: 'app-ldap.db', library: null });
    writeFileSync(join(files.dir, '.key'), Buffer.alloc(32, 7).toString('base64url'));
    const run = await doctor(files);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `  FAIL  the LDAP service password does not decrypt with ${join(files.dir, '.key')}: Fernet token signature does not match the key\n`,
    );
  });
});

describe.skipIf(skipWithout(slapdMissing(), "doctor's LDAP tests"))('calibre-web-kosync doctor with a real LDAP server', () => {
  let slapd: Slapd;
  beforeAll(async () => {
    slapd = await startSlapd();
  });
  afterAll(() => slapd?.stop());

  it('binds as the service account, searches, and exits 0', async () => {
    const files = fixture({ app: 'app-ldap.db', library: null });
    execute(files.appDb, `UPDATE settings SET config_ldap_port = ${slapd.port}`);
    const run = await doctor(files);
    expect(run.stdout).toContain('  ok    LDAP bind test: the service bind and the user search in dc=example,dc=org work\n');
    expect(run.code).toBe(0);
  });
});
