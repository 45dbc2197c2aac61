import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { epochAt as epoch, SECOND, storedAt as at, testApp, type TestApp } from './support/app.js';
import { DAVE_ID, execute, tableRows } from './support/fixtures.js';
import { BOOK1, BOOK1_EPUB, get, json, put, UNKNOWN_DOC } from './support/requests.js';
import { pushedProgressRow, startedBook1Rows } from './support/rows.js';

let t: TestApp;
let logLines: Record<string, unknown>[];
beforeEach(async () => {
  logLines = [];
  t = await testApp({
    env: { KOSYNC_LOG_LEVEL: 'error' },
    logStream: { write: (line) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
  });
});
afterEach(() => t.close());

const rows = (table: string) => tableRows(t.files.appDb, table);
const push = (document: string, percentage: number) =>
  put(t.app, { document, progress: `p${percentage}`, percentage, device: 'KOReader', device_id: 'DEV1' });
const commitsDuring = async (action: () => Promise<unknown>) => {
  const before = t.databases.appDb.commits;
  await action();
  return t.databases.appDb.commits - before;
};

describe('one durable commit per PUT (docs/PROTOCOL.md §4.1)', () => {
  it('commits progress, read status and the Kobo rows of a library book once', async () => {
    expect(await commitsDuring(() => push(BOOK1_EPUB, 0.25))).toBe(1);
    expect(rows('kosync_progress')).toHaveLength(1);
    expect(rows('book_read_link')).toHaveLength(1);
    expect(rows('kobo_bookmark')).toHaveLength(1);
    t.clock.advance(SECOND);
    expect(await commitsDuring(() => push(BOOK1_EPUB, 0.5))).toBe(1);
  });

  it('commits the progress of a document outside the library once', async () => {
    expect(await commitsDuring(() => push(UNKNOWN_DOC, 0.25))).toBe(1);
  });

  it('commits nothing for a GET or a rejected PUT', async () => {
    expect(await commitsDuring(() => get(t.app, BOOK1_EPUB))).toBe(0);
    expect(await commitsDuring(() => put(t.app, { document: 'a:b', progress: '1', percentage: 0.5, device: 'KOReader' }))).toBe(0);
    expect(rows('kosync_progress')).toEqual([]);
  });
});

describe('the savepoint around the read-status step', () => {
  it('keeps the progress row and rolls back the whole step when a later insert of it fails', async () => {
    // The step inserts book_read_link and kobo_reading_state before the bookmark: those must go too.
    execute(t.files.appDb, `CREATE TRIGGER fail_bookmark BEFORE INSERT ON kobo_bookmark BEGIN SELECT RAISE(ABORT, 'injected'); END`);
    let response: Awaited<ReturnType<typeof push>> | undefined;
    expect(await commitsDuring(async () => (response = await push(BOOK1_EPUB, 0.25)))).toBe(1);

    expect(response!.statusCode).toBe(200);
    expect(json(response!)).toEqual({ document: BOOK1_EPUB, timestamp: epoch(0), ...BOOK1 });
    expect(rows('kosync_progress')).toEqual([pushedProgressRow({ percent: 25, timestamp: at(0) })]);
    expect(rows('book_read_link')).toEqual([]);
    expect(rows('kobo_reading_state')).toEqual([]);
    expect(rows('kobo_bookmark')).toEqual([]);
    expect(rows('kobo_statistics')).toEqual([]);
    expect(logLines.map((l) => [l.level, l.msg, l.bookId, (l.err as { message?: string } | undefined)?.message])).toEqual([
      [50, 'read status not updated; progress kept', 1, 'injected'],
    ]);
  });

  it('keeps the earlier read status when updating it fails half-way, and the new progress', async () => {
    await push(BOOK1_EPUB, 0.25);
    execute(t.files.appDb, `CREATE TRIGGER fail_bookmark BEFORE UPDATE ON kobo_bookmark BEGIN SELECT RAISE(ABORT, 'injected'); END`);
    t.clock.advance(SECOND);
    const response = await push(BOOK1_EPUB, 0.995);

    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual({ document: BOOK1_EPUB, timestamp: epoch(1), ...BOOK1 });
    expect(rows('kosync_progress')).toEqual([pushedProgressRow({ percent: 99.5, timestamp: at(1) })]);
    // book_read_link was updated to FINISHED before the bookmark update failed: rolled back with it.
    const started = startedBook1Rows(at(0));
    expect(rows('book_read_link')).toEqual(started.book_read_link);
    expect(rows('kobo_reading_state')).toEqual(started.kobo_reading_state);
    expect(rows('kobo_bookmark')).toEqual(started.kobo_bookmark);
  });

  it('leaves no savepoint or transaction open after a failed step: the next PUT writes normally', async () => {
    execute(t.files.appDb, `CREATE TRIGGER fail_link BEFORE INSERT ON book_read_link BEGIN SELECT RAISE(ABORT, 'injected'); END`);
    await push(BOOK1_EPUB, 0.25);
    execute(t.files.appDb, `DROP TRIGGER fail_link`);
    t.clock.advance(SECOND);
    expect(await commitsDuring(() => push(BOOK1_EPUB, 0.5))).toBe(1);
    expect(t.databases.appDb.write.raw.inTransaction).toBe(false);
    expect(rows('book_read_link')).toEqual([
      {
        id: 1,
        book_id: 1,
        user_id: DAVE_ID,
        read_status: 2,
        last_modified: at(1),
        last_time_started_reading: at(1),
        times_started_reading: 1,
      },
    ]);
  });
});

describe('group commit: concurrent PUTs share one durable commit', () => {
  const others = ['2f28cdd6d7079bc8df9a01a5596fd21c', 'acb60d6e0cde10d38f5335f8c1b1f34f', '2fb1702f7329c741178f87f19311cde0', UNKNOWN_DOC];

  it('answers every PUT after the commit that holds it, never committing more often than PUTs arrive', async () => {
    const documents = [BOOK1_EPUB, ...others];
    let responses: Awaited<ReturnType<typeof push>>[] = [];
    const commits = await commitsDuring(async () => (responses = await Promise.all(documents.map((d) => push(d, 0.25)))));
    expect(responses.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(commits).toBe(1);
    const progress = rows('kosync_progress').map(({ id: _id, ...row }) => row);
    expect(progress.sort((a, b) => String(a.document).localeCompare(String(b.document)))).toEqual(
      [...documents].sort().map((document) => ({
        user_id: DAVE_ID,
        document,
        progress: 'p0.25',
        percentage: 25,
        device: 'KOReader',
        device_id: 'DEV1',
        timestamp: at(0),
      })),
    );
    expect(
      rows('book_read_link')
        .map((r) => r.book_id)
        .sort(),
    ).toEqual([1, 2]);
  });

  it('rolls back only the write that fails; the others of its group commit', async () => {
    execute(
      t.files.appDb,
      `CREATE TRIGGER fail_one BEFORE INSERT ON kosync_progress WHEN NEW.document = '${UNKNOWN_DOC}' ` +
        "BEGIN SELECT RAISE(ABORT, 'injected'); END",
    );
    const [failed, ...accepted] = await Promise.all([push(UNKNOWN_DOC, 0.25), push(BOOK1_EPUB, 0.25), push(others[0]!, 0.25)]);
    expect(failed!.statusCode).toBe(502);
    expect(json(failed!)).toEqual({ code: 2000, message: 'Unknown server error' });
    expect(accepted.map((r) => r.statusCode)).toEqual([200, 200]);
    expect(
      rows('kosync_progress')
        .map((r) => r.document)
        .sort(),
    ).toEqual([others[0], BOOK1_EPUB].sort());
    expect(rows('book_read_link')).toHaveLength(1);
    expect(t.databases.appDb.write.raw.inTransaction).toBe(false);
  });

  it(
    'when SQLite rolls the whole transaction back (RAISE(ROLLBACK)), ' + 'fails that write alone with its own cause; the others commit',
    async () => {
      execute(
        t.files.appDb,
        `CREATE TRIGGER lose_all BEFORE INSERT ON kosync_progress WHEN NEW.document = '${UNKNOWN_DOC}' ` +
          "BEGIN SELECT RAISE(ROLLBACK, 'injected rollback'); END",
      );
      let answers: Awaited<ReturnType<typeof push>>[] = [];
      const commits = await commitsDuring(
        async () => (answers = await Promise.all([push(BOOK1_EPUB, 0.25), push(UNKNOWN_DOC, 0.25), push('outside-the-library', 0.25)])),
      );
      expect(answers.map((a) => [a.statusCode, json(a)])).toEqual([
        [200, { document: BOOK1_EPUB, timestamp: epoch(0), ...BOOK1 }],
        [502, { code: 2000, message: 'Unknown server error' }],
        [200, { document: 'outside-the-library', timestamp: epoch(0) }],
      ]);
      expect(commits).toBe(1);
      expect(
        rows('kosync_progress')
          .map((r) => r.document)
          .sort(),
      ).toEqual(['outside-the-library', BOOK1_EPUB].sort());
      expect(rows('book_read_link')).toHaveLength(1);
      expect(logLines.map((l) => [l.msg, (l.err as { message?: string } | undefined)?.message])).toEqual([
        ['unexpected error', 'injected rollback'],
      ]);
    },
  );

  it('fails the write with its own cause when SQLite rolls back inside the read-status step, never "no such savepoint"', async () => {
    execute(
      t.files.appDb,
      `CREATE TRIGGER lose_all BEFORE INSERT ON kobo_reading_state BEGIN SELECT RAISE(ROLLBACK, 'injected rollback'); END`,
    );
    const [matched, unmatched] = await Promise.all([push(BOOK1_EPUB, 0.25), push(UNKNOWN_DOC, 0.25)]);
    expect([matched!.statusCode, json(matched!)]).toEqual([502, { code: 2000, message: 'Unknown server error' }]);
    expect(unmatched!.statusCode).toBe(200);
    expect(rows('kosync_progress').map((r) => r.document)).toEqual([UNKNOWN_DOC]);
    expect(rows('book_read_link')).toEqual([]);
    expect(logLines.map((l) => [l.msg, (l.err as { message?: string } | undefined)?.message])).toEqual([
      ['unexpected error', 'injected rollback'],
    ]);
    expect(t.databases.appDb.write.raw.inTransaction).toBe(false);
  });
});
