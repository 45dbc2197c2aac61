import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli } from './support/built-cli.js';
import { startChildServer, type ChildServer } from './support/child-server.js';
import { copyFixtures, query, type FixtureCopy } from './support/fixtures.js';
import { DAVE } from './support/requests.js';

const BOOK1_EPUB = 'e1dbc3a8ba7a76e2bc720bd6815715b0';
const WRITER = new URL('./support/calibre-web-writer.mjs', import.meta.url).pathname;
const DURATION_MS = 4000;

describe('Calibre-Web writing app.db from another process during a sync load', () => {
  let files: FixtureCopy;
  let server: ChildServer;
  beforeAll(async () => {
    files = copyFixtures();
    server = await startChildServer(builtCli(), {
      KOSYNC_APP_DB: files.appDb,
      KOSYNC_STATE_DB: files.stateDb,
      KOSYNC_LIBRARY: files.library!,
    });
  });
  afterAll(async () => {
    server.process.kill('SIGTERM');
    await server.exited;
    files.remove();
  });

  it('loses no update on either side, duplicates no Kobo rows, and keeps app.db intact', async () => {
    const writer = spawn(process.execPath, [WRITER, files.appDb, String(DURATION_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let writerOutput = '';
    writer.stdout.on('data', (chunk: Buffer) => (writerOutput += chunk.toString('utf8')));
    const writerDone = once(writer, 'close');
    let writing = true;
    void writerDone.then(() => {
      writing = false;
    });

    const acknowledged = new Map<string, string>();
    const statuses = new Map<number, number>();
    let bookPercent: number | undefined;
    // The syncers go on for as long as Calibre-Web's side writes: until its process exits.
    const syncer = async (w: number) => {
      for (let i = 0; writing; i++) {
        const matched = w === 0 && i % 3 === 0;
        const document = matched ? BOOK1_EPUB : `writer-w${w}-${i}`;
        const progress = `/body/DocFragment[${w}.${i}]`;
        const percentage = matched ? 0.1 + (i % 80) / 100 : 0.5;
        const response = await fetch(`${server.origin}/kosync/syncs/progress`, {
          method: 'PUT',
          headers: { ...DAVE, 'content-type': 'application/json' },
          body: JSON.stringify({ document, progress, percentage, device: 'writer-test' }),
        });
        await response.arrayBuffer();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 200 && !matched) acknowledged.set(document, progress);
        if (response.status === 200 && matched) bookPercent = percentage * 100;
      }
    };
    // One syncer writes the book, so its last acknowledged percentage is the one that must be stored.
    await Promise.all([syncer(0), syncer(1), syncer(2)]);
    const [code] = (await writerDone) as [number];
    expect(code).toBe(0);
    const { commits, retries, linkId, stateId } = JSON.parse(writerOutput) as {
      commits: number;
      retries: number;
      linkId: number;
      stateId: number;
    };

    // The sidecar's side: every acknowledged PUT is there.
    const rows = new Map(
      query<{ document: string; progress: string }>(files.appDb, 'SELECT document, progress FROM kosync_progress WHERE user_id = 6').map(
        (r) => [r.document, r.progress],
      ),
    );
    expect([...acknowledged].filter(([document, progress]) => rows.get(document) !== progress)).toEqual([]);
    expect(acknowledged.size).toBeGreaterThan(10);
    expect(query(files.appDb, `SELECT percentage FROM kosync_progress WHERE user_id = 6 AND document = ?`, BOOK1_EPUB)).toEqual([
      { percentage: bookPercent },
    ]);
    // Calibre-Web's side: every committed increment is there.
    expect(query(files.appDb, 'SELECT times_started_reading AS n FROM book_read_link WHERE id = ?', linkId)).toEqual([{ n: commits }]);
    expect(query(files.appDb, 'SELECT spent_reading_minutes AS n FROM kobo_statistics WHERE kobo_reading_state_id = ?', stateId)).toEqual([
      { n: commits },
    ]);
    // One set of reading-state rows per (user, book), whoever wrote them.
    expect(
      query(files.appDb, 'SELECT user_id, book_id, count(*) AS n FROM book_read_link GROUP BY user_id, book_id ORDER BY user_id'),
    ).toEqual([
      { user_id: 3, book_id: 2, n: 1 },
      { user_id: 6, book_id: 1, n: 1 },
    ]);
    expect(
      query(files.appDb, 'SELECT user_id, book_id, count(*) AS n FROM kobo_reading_state GROUP BY user_id, book_id ORDER BY user_id'),
    ).toEqual([
      { user_id: 3, book_id: 2, n: 1 },
      { user_id: 6, book_id: 1, n: 1 },
    ]);
    expect(query(files.appDb, 'SELECT count(*) AS n FROM kobo_bookmark GROUP BY kobo_reading_state_id')).toEqual([{ n: 1 }, { n: 1 }]);
    expect(query(files.appDb, 'SELECT count(*) AS n FROM kobo_statistics GROUP BY kobo_reading_state_id')).toEqual([{ n: 1 }, { n: 1 }]);
    expect(query(files.appDb, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    expect(commits).toBeGreaterThan(10);
    console.info(
      `concurrent writer: Calibre-Web side ${commits} commits (${retries} busy retries); ` +
        `sidecar statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
  }, 60_000);
});
