// A stand-in for Calibre-Web writing app.db from its own process while the sidecar serves syncs: each
// transaction is SQLAlchemy-style (a deferred BEGIN, reads, writes, COMMIT, pysqlite's 5 s busy
// timeout). It owns alice's (user 3) reading state of book 2 and increments two counters there
// (book_read_link.times_started_reading, kobo_statistics.spent_reading_minutes), and touches dave's
// Kobo reading state of book 1 the way Calibre-Web's Kobo sync does. A transaction that hits
// SQLITE_BUSY is rolled back and retried whole, so only committed increments are counted.
// Usage: node calibre-web-writer.mjs <app.db> <milliseconds>; prints {"commits":n,"retries":n}.
import Database from 'better-sqlite3';

const [appDb, duration] = process.argv.slice(2);
const db = new Database(appDb);
db.pragma('busy_timeout = 5000');
const now = () => new Date().toISOString().replace('T', ' ').replace('Z', '000');

db.exec('BEGIN IMMEDIATE');
const link = db
  .prepare(
    'INSERT INTO book_read_link (book_id, user_id, read_status, last_modified, last_time_started_reading, times_started_reading) ' +
      'VALUES (2, 3, 2, ?, ?, 0)',
  )
  .run(now(), now());
const state = db
  .prepare('INSERT INTO kobo_reading_state (user_id, book_id, last_modified, priority_timestamp) VALUES (3, 2, ?, ?)')
  .run(now(), now());
db.prepare('INSERT INTO kobo_bookmark (kobo_reading_state_id, last_modified, progress_percent) VALUES (?, ?, 0)').run(
  state.lastInsertRowid,
  now(),
);
db.prepare('INSERT INTO kobo_statistics (kobo_reading_state_id, last_modified, spent_reading_minutes) VALUES (?, ?, 0)').run(
  state.lastInsertRowid,
  now(),
);
db.exec('COMMIT');

const readCounters = db.prepare(
  'SELECT l.times_started_reading AS started, s.spent_reading_minutes AS spent ' +
    'FROM book_read_link l, kobo_statistics s WHERE l.id = ? AND s.kobo_reading_state_id = ?',
);
const writeStarted = db.prepare('UPDATE book_read_link SET times_started_reading = ?, last_modified = ? WHERE id = ?');
const writeSpent = db.prepare('UPDATE kobo_statistics SET spent_reading_minutes = ?, last_modified = ? WHERE kobo_reading_state_id = ?');
const touchOwnState = db.prepare('UPDATE kobo_reading_state SET last_modified = ?, priority_timestamp = ? WHERE id = ?');
const touchDaveState = db.prepare('UPDATE kobo_reading_state SET last_modified = ? WHERE user_id = 6 AND book_id = 1');

let commits = 0;
let retries = 0;
const end = Date.now() + Number(duration);
while (Date.now() < end) {
  try {
    db.exec('BEGIN');
    const { started, spent } = readCounters.get(link.lastInsertRowid, state.lastInsertRowid);
    const at = now();
    writeStarted.run(started + 1, at, link.lastInsertRowid);
    writeSpent.run(spent + 1, at, state.lastInsertRowid);
    touchOwnState.run(at, at, state.lastInsertRowid);
    touchDaveState.run(at);
    db.exec('COMMIT');
    commits++;
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    if (!String(error.code).startsWith('SQLITE_BUSY')) throw error;
    retries++;
  }
  // Calibre-Web serves other pages between writes; keep the lock free part of the time.
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
}
db.close();
process.stdout.write(JSON.stringify({ commits, retries, linkId: Number(link.lastInsertRowid), stateId: Number(state.lastInsertRowid) }));
