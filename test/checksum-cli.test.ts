import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { copyFixtures, query, type FixtureCopy } from './support/fixtures.js';
import { md5 } from './support/keys.js';
import { BOOK1_EPUB, BOOK1_OLD_EPUB, UNKNOWN_DOC } from './support/requests.js';

class Capture extends Writable {
  text = '';
  constructor(readonly isTTY = false) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

let files: FixtureCopy | undefined;
afterEach(() => {
  files?.remove();
  files = undefined;
});

async function cli(args: string[], library: 'calibre' | 'calibre-cwa' = 'calibre', tty = false) {
  files ??= copyFixtures({ library });
  const stdout = new Capture(tty);
  const stderr = new Capture();
  const code = await main({
    argv: [...args, '--app-db', files.appDb, '--state-db', files.stateDb, '--library', files.library!, '--log-level', 'silent'],
    env: {},
    stdout,
    stderr,
  });
  return { code, out: stdout.text, err: stderr.text };
}

describe('calibre-web-kosync checksums scan', () => {
  it('rehashes every file and prints a summary', async () => {
    const { code, out, err } = await cli(['checksums', 'scan']);
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toMatch(
      new RegExp(
        String.raw`^Checksum index: 6 library files in \d+\.\d s: 6 hashed, 0 unchanged, ` +
          String.raw`0 missing on disk, 0 no longer in the library, 0 unreadable\.\n$`,
      ),
    );
    expect(query(files!.stateDb, 'SELECT count(*) AS n FROM library_files')).toEqual([{ n: 6 }]);
    const again = await cli(['checksums', 'scan', '--json']);
    expect(JSON.parse(again.out)).toMatchObject({ files: 6, hashed: 6, unchanged: 0, full: true });
  });

  it('draws a progress bar on a terminal', async () => {
    const { code, out } = await cli(['checksums', 'scan'], 'calibre', true);
    expect(code).toBe(0);
    expect(out.startsWith(`\r[#####${'-'.repeat(25)}] 1/6 files\r[##########`)).toBe(true);
    expect(out).toContain('\r[##############################] 6/6 files\nChecksum index: 6 library files');
  });
});

describe('calibre-web-kosync checksums find', () => {
  it('names the book, the method and when the document was seen', async () => {
    await cli(['checksums', 'scan']);
    const { code, out } = await cli(['checksums', 'find', BOOK1_EPUB]);
    expect(code).toBe(0);
    expect(out.split('\n')[0]).toBe(
      `${BOOK1_EPUB}: book 1 "The Quiet Lighthouse", EPUB, matched by its KOReader partial MD5 (checksum index)`,
    );
    expect(out).toMatch(
      new RegExp(
        String.raw`\n {2}binary {5}book 1 EPUB {2}first seen \d{4}-\d\d-\d\d [\d:.]+ {2}last seen [\d :.-]+ ` +
          String.raw`{2}in the library {2}\(Mara Ellison\/The Quiet Lighthouse \(1\)\/The Quiet Lighthouse - Mara Ellison\.epub\)\n`,
      ),
    );
  });

  it('reports a filename-method id as such', async () => {
    await cli(['checksums', 'scan']);
    const name = md5('The Quiet Lighthouse - Mara Ellison.epub');
    const { code, out } = await cli(['checksums', 'find', name, '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      document: name,
      match: { bookId: 1, format: 'EPUB', method: 'filename', checksumVersion: 'koreader_filename' },
      cwa: [],
      index: [{ method: 'filename', bookId: 1, format: 'EPUB', detail: 'The Quiet Lighthouse - Mara Ellison.epub', live: true }],
    });
  });

  it("shows CWA's rows first, the history row included", async () => {
    const { code, out } = await cli(['checksums', 'find', BOOK1_OLD_EPUB], 'calibre-cwa');
    expect(code).toBe(0);
    expect(out).toBe(
      `${BOOK1_OLD_EPUB}: book 1 "The Quiet Lighthouse", EPUB, matched by CWA's book_format_checksums\n` +
        '  CWA table  book 1 EPUB  created 2025-06-01T08:15:30.123456+00:00  version koreader\n',
    );
  });

  it('exits 1 for a document no book matches, and says the index has not read the library yet', async () => {
    const { code, out } = await cli(['checksums', 'find', UNKNOWN_DOC]);
    expect(code).toBe(1);
    expect(out).toBe(
      `${UNKNOWN_DOC}: matches no book of the library\n` +
        '  not in the checksum index (run `checksums scan` if the library changed)\n' +
        "  why: the checksum index has not read 6 of the library's 6 files yet (a scan is running or due); " +
        'it matches once its file is indexed (index-incomplete)\n',
    );
  });

  it('answers a usage error for a missing document', async () => {
    const { code, err } = await cli(['checksums', 'find']);
    expect(code).toBe(2);
    expect(err).toBe('Usage: calibre-web-kosync checksums scan | checksums find <document>\n');
  });
});
