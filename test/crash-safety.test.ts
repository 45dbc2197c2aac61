import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli } from './support/built-cli.js';
import { startChildServer } from './support/child-server.js';
import { copyFixtures, query, type FixtureCopy } from './support/fixtures.js';
import { DAVE } from './support/requests.js';

const BOOK1_EPUB = 'e1dbc3a8ba7a76e2bc720bd6815715b0';
const ROUNDS = 20;
const WRITERS = 4;

describe('SIGKILL in the middle of PUTs', () => {
  let cli: string;
  let files: FixtureCopy;
  beforeAll(() => {
    cli = builtCli();
    files = copyFixtures();
  });
  afterAll(() => files.remove());

  it(`loses no acknowledged sync over ${ROUNDS} kills at random points, and leaves app.db intact`, async () => {
    /** Every PUT answered 200: document → the progress it carried. */
    const acknowledged = new Map<string, string>();
    let attempted = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const server = await startChildServer(cli, {
        KOSYNC_APP_DB: files.appDb,
        KOSYNC_STATE_DB: files.stateDb,
        KOSYNC_LIBRARY: files.library!,
      });
      let stop = false;
      const writer = async (w: number) => {
        for (let i = 0; !stop; i++) {
          // Mostly a new document per PUT (its row is the proof), sometimes the library book, so the
          // read-status and Kobo rows are written under the kill as well.
          const document = i % 5 === 4 ? BOOK1_EPUB : `crash-r${round}-w${w}-${i}`;
          const progress = `/body/DocFragment[${round}.${w}.${i}]`;
          attempted++;
          try {
            const response = await fetch(`${server.origin}/kosync/syncs/progress`, {
              method: 'PUT',
              headers: { ...DAVE, 'content-type': 'application/json' },
              body: JSON.stringify({ document, progress, percentage: ((i % 90) + 5) / 100, device: 'crash-test', device_id: `W${w}` }),
            });
            if (response.status === 200 && document !== BOOK1_EPUB) acknowledged.set(document, progress);
            await response.arrayBuffer();
          } catch {
            return; // the server is gone
          }
        }
      };
      const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
      await new Promise((resolve) => setTimeout(resolve, 30 + Math.random() * 250));
      server.process.kill('SIGKILL');
      await server.exited;
      stop = true;
      await Promise.all(writers);
    }

    // Restarted once more, the sidecar recovers the file itself and stops cleanly.
    const last = await startChildServer(cli, {
      KOSYNC_APP_DB: files.appDb,
      KOSYNC_STATE_DB: files.stateDb,
      KOSYNC_LIBRARY: files.library!,
    });
    expect((await fetch(`${last.origin}/kosync/healthcheck`)).status).toBe(200);
    last.process.kill('SIGTERM');
    expect(await last.exited).toEqual({ code: 0, signal: null });

    expect(acknowledged.size).toBeGreaterThan(ROUNDS);
    const rows = new Map(
      query<{ document: string; progress: string }>(files.appDb, `SELECT document, progress FROM kosync_progress WHERE user_id = 6`).map(
        (r) => [r.document, r.progress],
      ),
    );
    const lost = [...acknowledged].filter(([document, progress]) => rows.get(document) !== progress);
    expect(lost).toEqual([]);
    expect(query(files.appDb, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    expect(query(files.appDb, `SELECT count(*) AS n FROM book_read_link WHERE user_id = 6 AND book_id = 1`)).toEqual([{ n: 1 }]);
    expect(query(files.appDb, `SELECT count(*) AS n FROM kobo_reading_state WHERE user_id = 6 AND book_id = 1`)).toEqual([{ n: 1 }]);
    // Journal mode untouched: Calibre-Web's rollback journal, nothing left behind once SQLite recovered.
    expect(query(files.appDb, 'PRAGMA journal_mode')).toEqual([{ journal_mode: 'delete' }]);
    expect(existsSync(`${files.appDb}-wal`)).toBe(false);
    console.info(`crash safety: ${ROUNDS} kills, ${attempted} PUTs sent, ${acknowledged.size} acknowledged, all present`);
  }, 120_000);
});
