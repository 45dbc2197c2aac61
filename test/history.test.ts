import { afterEach, describe, expect, it, vi } from 'vitest';
import { epochAt, SECOND, storedAt, testApp, type TestApp } from './support/app.js';
import { DAVE_ID, ERIN_ID, execute, query, tableRows } from './support/fixtures.js';
import { BOOK1, BOOK1_EPUB, DAVE, ERIN, json, put } from './support/requests.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function app(env: Record<string, string> = {}): Promise<TestApp> {
  t = await testApp({ env });
  return t;
}

/** A push of book 1 at `percent` % from `device` (device_id `<device>-ID` unless `deviceId` is null), one second after the last. */
async function push(
  percent: number,
  device: string,
  { deviceId = `${device}-ID`, headers = DAVE } = {} as { deviceId?: string | null; headers?: Record<string, string> },
) {
  const body = {
    document: BOOK1_EPUB,
    progress: `/body/DocFragment[${percent}]`,
    percentage: percent / 100,
    device,
    ...(deviceId === null ? {} : { device_id: deviceId }),
  };
  const response = await put(t!.app, body, headers);
  t!.clock.advance(SECOND);
  return response;
}

const history = () =>
  query(t!.files.stateDb, 'SELECT user_id, document, progress, percentage, device, device_id, timestamp FROM progress_history ORDER BY id');
const current = () =>
  tableRows(t!.files.appDb, 'kosync_progress').map(({ progress, percentage, device, device_id, timestamp }) => ({
    progress,
    percentage,
    device,
    device_id,
    timestamp,
  }));
const entry = (percent: number, device: string, second: number, userId = DAVE_ID) => ({
  user_id: userId,
  document: BOOK1_EPUB,
  progress: `/body/DocFragment[${percent}]`,
  percentage: percent,
  device,
  device_id: `${device}-ID`,
  timestamp: storedAt(second),
});

describe('the history of accepted pushes (docs/PROTOCOL.md §9.1)', () => {
  it('keeps every accepted push per user and document in the state DB, with the time written to app.db', async () => {
    await app();
    await push(10, 'Kobo');
    await push(40, 'Phone');
    await push(20, 'Kobo', { headers: ERIN });
    expect(history()).toEqual([entry(10, 'Kobo', 0), entry(40, 'Phone', 1), entry(20, 'Kobo', 2, ERIN_ID)]);
    expect(query(t!.files.appDb, 'SELECT user_id, percentage, timestamp FROM kosync_progress ORDER BY id')).toEqual([
      { user_id: DAVE_ID, percentage: 40, timestamp: storedAt(1) },
      { user_id: ERIN_ID, percentage: 20, timestamp: storedAt(2) },
    ]);
  });

  it('keeps only the newest KOSYNC_HISTORY_LIMIT entries of a user and document', async () => {
    await app({ KOSYNC_HISTORY_LIMIT: '2' });
    await push(10, 'Kobo');
    await push(20, 'Kobo', { headers: ERIN });
    await push(30, 'Kobo');
    await push(40, 'Kobo');
    expect(history()).toEqual([entry(20, 'Kobo', 1, ERIN_ID), entry(30, 'Kobo', 2), entry(40, 'Kobo', 3)]);
  });

  it('waits for a state DB another process locks, and writes the entry once it is free', async () => {
    await app();
    const locker = new (await import('better-sqlite3')).default(t!.files.stateDb);
    locker.exec('BEGIN IMMEDIATE');
    expect((await push(10, 'Kobo')).statusCode).toBe(200);
    expect(t!.databases.stateDb.deferredWrites).toBe(1);
    locker.exec('COMMIT');
    locker.close();
    await vi.waitFor(() => expect(t!.databases.stateDb.deferredWrites).toBe(0));
    expect(history()).toEqual([entry(10, 'Kobo', 0)]);
  });
});

describe('never moving backwards, KOSYNC_KEEP_FURTHEST (docs/PROTOCOL.md §9.2)', () => {
  it('on: another device behind the position is answered as usual, kept in the history, position and read status unchanged', async () => {
    await app({ KOSYNC_KEEP_FURTHEST: 'true' });
    await push(60, 'Kobo');
    const readStatus = tableRows(t!.files.appDb, 'book_read_link');
    const answer = await push(30, 'Phone');
    expect(answer.statusCode).toBe(200);
    expect(json(answer)).toEqual({ document: BOOK1_EPUB, timestamp: epochAt(1), ...BOOK1 });
    expect(current()).toEqual([
      { progress: '/body/DocFragment[60]', percentage: 60, device: 'Kobo', device_id: 'Kobo-ID', timestamp: storedAt(0) },
    ]);
    expect(tableRows(t!.files.appDb, 'book_read_link')).toEqual(readStatus);
    expect(tableRows(t!.files.appDb, 'kobo_bookmark').map((b) => b.progress_percent)).toEqual([60]);
    expect(history()).toEqual([entry(60, 'Kobo', 0), entry(30, 'Phone', 1)]);
  });

  it('on: the same device may go back, another device may go forward', async () => {
    await app({ KOSYNC_KEEP_FURTHEST: 'true' });
    await push(60, 'Kobo');
    await push(20, 'Kobo');
    expect(current()).toMatchObject([{ percentage: 20, device: 'Kobo', timestamp: storedAt(1) }]);
    await push(25, 'Phone');
    expect(current()).toMatchObject([{ percentage: 25, device: 'Phone', timestamp: storedAt(2) }]);
  });

  it('on: devices are told apart by device_id when both have one, else by their name', async () => {
    await app({ KOSYNC_KEEP_FURTHEST: 'true' });
    await push(60, 'KOReader', { deviceId: 'A' });
    await push(50, 'KOReader', { deviceId: 'B' }); // same name, another device: kept out
    expect(current()).toMatchObject([{ percentage: 60, device_id: 'A' }]);
    await push(40, 'KOReader', { deviceId: null }); // no id: the same name is the same device
    expect(current()).toMatchObject([{ percentage: 40, device_id: null }]);
    await push(30, 'Boox', { deviceId: null });
    expect(current()).toMatchObject([{ percentage: 40, device: 'KOReader' }]);
  });

  it('off (the default): the newest push wins, as in the original', async () => {
    await app();
    await push(60, 'Kobo');
    await push(30, 'Phone');
    expect(current()).toEqual([
      { progress: '/body/DocFragment[30]', percentage: 30, device: 'Phone', device_id: 'Phone-ID', timestamp: storedAt(1) },
    ]);
    expect(tableRows(t!.files.appDb, 'kobo_bookmark').map((b) => b.progress_percent)).toEqual([30]);
  });

  it('on: a first push, or one after the row was removed, is always written', async () => {
    await app({ KOSYNC_KEEP_FURTHEST: 'true' });
    await push(60, 'Kobo');
    execute(t!.files.appDb, 'DELETE FROM kosync_progress');
    await push(10, 'Phone');
    expect(current()).toMatchObject([{ percentage: 10, device: 'Phone' }]);
  });
});
