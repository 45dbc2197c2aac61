import { AppDb } from '../src/db/app-db.js';
import { CalibreDb } from '../src/db/calibre-db.js';
import { formatSqlDatetime } from '../src/db/datetime.js';
import { CwaChecksumSource } from '../src/matching/cwa-checksums.js';
import { saveProgress } from '../src/repos/progress.js';
import { updateReadStatus } from '../src/repos/read-status.js';
import { findUserByName } from '../src/repos/users.js';
import type { Files } from './servers.js';
import { DOCUMENTS, USER } from './workload.js';

/**
 * The physical limit of a PUT: the SQLite work of one, with the project's own repository functions,
 * in a tight synchronous loop — no HTTP, no JSON, no event loop. Per PUT: the login's user row and the
 * library match (read connection), then on the write connection the progress row and the read-status
 * step, each PUT in its savepoints; `perCommit` PUTs share one `BEGIN IMMEDIATE` … `COMMIT` (1: a
 * commit each; 50: as the server groups them at best with 50 clients). Returns PUTs per second.
 */
export function rawPutRate(files: Files, durationMs: number, perCommit: number): number {
  const appDb = AppDb.open(files.appDb);
  const calibre = CalibreDb.open(files.library);
  const books = new CwaChecksumSource(calibre);
  const conn = appDb.write;
  const exec = (sql: string) => conn.statement(sql).run();
  try {
    let count = 0;
    const started = performance.now();
    const end = started + durationMs;
    while (performance.now() < end) {
      exec('BEGIN IMMEDIATE');
      for (let k = 0; k < perCommit; k++, count++) {
        const document = DOCUMENTS[count % DOCUMENTS.length]!;
        const percentage = Math.floor(count / DOCUMENTS.length) % 2 === 1 ? 99.5 : 42;
        const user = findUserByName(appDb.read, USER.name)!;
        const match = books.match(document)!;
        const now = formatSqlDatetime(Math.floor((performance.timeOrigin + performance.now()) * 1000));
        exec('SAVEPOINT write');
        saveProgress(conn, {
          userId: user.id,
          document,
          progress: String(count),
          percentage,
          device: 'KOReader',
          deviceId: null,
          timestamp: now,
        });
        exec('SAVEPOINT read_status');
        updateReadStatus(conn, { userId: user.id, bookId: match.bookId, percentage, now });
        exec('RELEASE read_status');
        exec('RELEASE write');
      }
      exec('COMMIT');
    }
    return count / ((performance.now() - started) / 1000);
  } finally {
    calibre.close();
    appDb.close();
  }
}
