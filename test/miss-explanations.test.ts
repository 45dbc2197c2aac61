import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { holdLock } from '../bench/lock-holder.js';
import { testApp, type TestApp, type TestAppOptions } from './support/app.js';
import { cli } from './support/cli.js';
import { addSecondLighthouse, query } from './support/fixtures.js';
import { md5 } from './support/keys.js';
import { BOOK1_EPUB, DAVE, ERIN, put, UNKNOWN_DOC } from './support/requests.js';

const BOOK1_PATH = 'Mara Ellison/The Quiet Lighthouse (1)/The Quiet Lighthouse - Mara Ellison.epub';
const LIGHTHOUSE = { bookId: 1, title: 'The Quiet Lighthouse', authors: ['Mara Ellison'] };
const SECOND_LIGHTHOUSE = { ...LIGHTHOUSE, bookId: 6 };

interface MissLine {
  msg: string;
  user: string;
  document: string;
  reason: string;
  details: unknown;
  likelyBooks: unknown[];
}

let t: TestApp | undefined;
let lines: MissLine[] = [];
/** Every log line's message. */
let said: string[] = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  lines = [];
  said = [];
});

/** The app on the plain library, logging at info; after its first scan unless `scan` is false. */
async function app(options: TestAppOptions & { scan?: boolean } = {}): Promise<TestApp> {
  const { scan = true, ...rest } = options;
  t = await testApp({
    library: 'calibre',
    calibreWrites: true,
    env: { KOSYNC_LOG_LEVEL: 'info', ...(scan ? {} : { KOSYNC_SCAN_INTERVAL: '0' }) },
    logStream: {
      write: (line) => {
        const parsed = JSON.parse(line) as MissLine;
        said.push(parsed.msg);
        if (parsed.msg.startsWith('document matches no book')) lines.push(parsed);
      },
    },
    ...rest,
  });
  if (scan) {
    await t.app.ready();
    await t.library!.scanner.idle();
  }
  return t;
}

const push = async (document: string, metadata?: object, user = DAVE) => {
  const response = await put(
    t!.app,
    { document, progress: 'p', percentage: 0.1, device: 'KOReader', ...(metadata ? { metadata } : {}) },
    user,
  );
  expect(response.statusCode).toBe(200);
  expect(JSON.parse(response.body)).not.toHaveProperty('calibre_book_id');
};

/** The one explanation logged for the push just made. */
function explained(): Omit<MissLine, 'msg'> & { message: string } {
  expect(lines).toHaveLength(1);
  const { msg, user, document, reason, details, likelyBooks } = lines[0]!;
  return { user, document, reason, details, likelyBooks, message: msg.replace('document matches no book: ', '') };
}

describe('why a push matched no book, in the log once per user and document', () => {
  it('the index has not read the library yet', async () => {
    await app({ scan: false });
    await push(UNKNOWN_DOC);
    expect(explained()).toEqual({
      user: 'dave',
      document: UNKNOWN_DOC,
      reason: 'index-incomplete',
      details: { unindexed: 6, total: 6 },
      likelyBooks: [],
      message:
        "the checksum index has not read 6 of the library's 6 files yet (a scan is running or due); it matches once its file is indexed",
    });
  });

  it('it is a file of a book whose file is gone from the library', async () => {
    await app();
    rmSync(join(t!.files.library!, BOOK1_PATH));
    await t!.library!.scanner.scan();
    await push(BOOK1_EPUB);
    expect(explained()).toMatchObject({
      reason: 'removed',
      details: { knownAs: [{ bookId: 1, format: 'EPUB', how: 'binary', lastSeen: expect.any(String) }] },
      message: 'it is a file of book 1 (EPUB), which is no longer in the library or has no file on disk',
    });
  });

  it('a "filename" id of a name no library file or download has', async () => {
    await app();
    await push(md5('my copy.epub'), { filename: 'my copy.epub' });
    expect(explained()).toMatchObject({
      reason: 'filename-id',
      details: { filename: 'my copy.epub', books: [] },
      message:
        'it is KOReader\'s "filename" id of "my copy.epub", a name no library file or download has: ' +
        'set Progress sync → Document matching method to Binary in KOReader',
    });
  });

  it('a "filename" id of a name two books share', async () => {
    await app({ prepare: (files) => addSecondLighthouse(files.library!) });
    await push(md5('The Quiet Lighthouse - Mara Ellison.epub'));
    expect(explained()).toMatchObject({
      reason: 'filename-id',
      details: { filename: 'The Quiet Lighthouse - Mara Ellison.epub', books: [1, 6] },
      message:
        'it is KOReader\'s "filename" id of "The Quiet Lighthouse - Mara Ellison.epub", a name book 1, book 6 share, so it names neither',
    });
  });

  it("KOReader's metadata names several books", async () => {
    await app({ prepare: (files) => addSecondLighthouse(files.library!) });
    await push(UNKNOWN_DOC, { title: 'The Quiet Lighthouse', authors: 'Mara Ellison' });
    expect(explained()).toMatchObject({
      reason: 'metadata-ambiguous',
      details: { books: [1, 6], formats: [] },
      likelyBooks: [LIGHTHOUSE, SECOND_LIGHTHOUSE],
      message: 'KOReader\'s metadata names "The Quiet Lighthouse" by Mara Ellison, which fits several books: book 1, book 6',
    });
  });

  it("KOReader's metadata names one book, but not which of its formats", async () => {
    await app();
    await push(UNKNOWN_DOC, { title: 'Gears of the Clockwork City', authors: 'Tobias Renn', filename: 'gears.mobi' });
    expect(explained()).toMatchObject({
      reason: 'metadata-ambiguous',
      details: { books: [2], formats: ['EPUB', 'PDF'] },
      likelyBooks: [{ bookId: 2, title: 'Gears of the Clockwork City', authors: ['Tobias Renn'] }],
    });
  });

  it("KOReader's metadata names no book of the library, and the likely ones are offered", async () => {
    await app();
    await push(UNKNOWN_DOC, { title: 'The Quiet Lighthouse: A Novel', authors: 'M. Ellison' });
    expect(explained()).toMatchObject({
      reason: 'metadata-unmatched',
      details: { title: 'The Quiet Lighthouse: A Novel', authors: 'M. Ellison' },
      likelyBooks: [LIGHTHOUSE],
      message:
        'KOReader\'s metadata names "The Quiet Lighthouse: A Novel" by M. Ellison, and no book of the library has that title and author',
    });
  });

  it('no metadata was sent', async () => {
    await app();
    await push(UNKNOWN_DOC);
    expect(explained()).toEqual({
      user: 'dave',
      document: UNKNOWN_DOC,
      reason: 'metadata-absent',
      details: {},
      likelyBooks: [],
      message:
        'the file is not one the library holds or Calibre-Web served, and KOReader sent no title and authors: ' +
        'turn on Progress sync → Send document metadata in KOReader',
    });
  });

  it('says it once per user and document, again for another user', async () => {
    await app();
    await push(UNKNOWN_DOC);
    await push(UNKNOWN_DOC);
    await push(UNKNOWN_DOC, undefined, ERIN);
    expect(lines.map((l) => [l.user, l.reason])).toEqual([
      ['dave', 'metadata-absent'],
      ['erin', 'metadata-absent'],
    ]);
  });

  it('checksums find gives the same explanation, with the metadata each user sent', async () => {
    await app();
    await push(UNKNOWN_DOC, { title: 'The Quiet Lighthouse: A Novel', authors: 'M. Ellison' });
    await push(UNKNOWN_DOC, undefined, ERIN);
    await vi.waitFor(() => expect(query(t!.files.stateDb, 'SELECT user_id FROM unmatched_documents')).toHaveLength(2));
    const files = ['--app-db', t!.files.appDb, '--state-db', t!.files.stateDb, '--library', t!.files.library!, '--log-level', 'silent'];
    const found = await cli(['checksums', 'find', UNKNOWN_DOC, ...files]);
    expect(found.code).toBe(1);
    expect(found.stdout.split('\n')).toEqual([
      `${UNKNOWN_DOC}: matches no book of the library`,
      '  not in the checksum index (run `checksums scan` if the library changed)',
      // Both at the same moment of the pinned clock: by user id.
      expect.stringMatching(
        /^ {2}pushed by dave \(user 6\), last [\d :.-]+, with title "The Quiet Lighthouse: A Novel", authors "M. Ellison":$/,
      ),
      `    why: ${lines[0]!.msg.replace('document matches no book: ', '')} (metadata-unmatched)`,
      '      maybe book 1 "The Quiet Lighthouse" by Mara Ellison',
      expect.stringMatching(/^ {2}pushed by erin \(user 7\), last [\d :.-]+, without metadata:$/),
      `    why: ${lines[1]!.msg.replace('document matches no book: ', '')} (metadata-absent)`,
      '',
    ]);
    const json = JSON.parse((await cli(['checksums', 'find', UNKNOWN_DOC, '--json', ...files])).stdout) as {
      unmatched: { user_id: number; explanation: { reason: string; details: unknown; likelyBooks: unknown } }[];
    };
    const dave = json.unmatched.find((u) => u.user_id === 6)!;
    expect(dave.explanation).toMatchObject({ reason: lines[0]!.reason, details: lines[0]!.details, likelyBooks: lines[0]!.likelyBooks });
  });

  it('a library that cannot be read (calibre holding metadata.db) leaves the push unmatched and answered, and says so', async () => {
    await app();
    const lock = await holdLock(join(t!.files.library!, 'metadata.db'), 'exclusive', {
      touch: 'UPDATE data SET name = name WHERE 0',
      releaseAfterMs: 20_000,
    });
    try {
      await push(BOOK1_EPUB);
    } finally {
      await lock.release();
    }
    expect(lines).toEqual([]);
    expect(said).toEqual(
      expect.arrayContaining([
        'library lookup failed; document treated as unmatched',
        'could not explain why the document matches no book',
      ]),
    );
    expect(query(t!.files.appDb, 'SELECT document, progress FROM kosync_progress')).toEqual([{ document: BOOK1_EPUB, progress: 'p' }]);
  });
});
