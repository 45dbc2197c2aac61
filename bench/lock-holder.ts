import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

/**
 * What another process holds on app.db, as Calibre-Web (or calibre, or a backup) would:
 * - `read`: an open read transaction (SHARED): writers can start but cannot commit;
 * - `write`: `BEGIN IMMEDIATE` with a pending change (RESERVED): readers go on, writers wait;
 * - `exclusive`: `BEGIN EXCLUSIVE` (EXCLUSIVE): nobody else reads or writes.
 */
export type LockKind = 'read' | 'write' | 'exclusive';

export interface HeldLock {
  /** Ends the other process's transaction (rolled back: it changes nothing) and waits for it to exit. */
  release(): Promise<void>;
  /** Whether the other process has let go (asked to, by `releaseAfterMs`, or by exiting). */
  readonly released: boolean;
}

interface HoldOptions {
  /** What the writer changes once it holds the lock (rolled back); app.db's user table by default. */
  touch?: string;
  /** The other process lets go by itself after this long, as a bound when the test itself is stalled. */
  releaseAfterMs?: number;
}

const BETTER_SQLITE3 = createRequire(import.meta.url).resolve('better-sqlite3');

/** The other process: takes the lock, says "held", and lets go when its stdin gets a line or closes. */
const HOLDER = `
const [, modulePath, path, kind, touch, releaseAfterMs] = process.argv;
const Database = require(modulePath);
const db = new Database(path);
db.pragma('busy_timeout = 10000');
if (kind === 'read') {
  db.exec('BEGIN');
  db.prepare('SELECT count(*) FROM sqlite_master').get();
} else {
  db.exec(kind === 'exclusive' ? 'BEGIN EXCLUSIVE' : 'BEGIN IMMEDIATE');
  db.prepare(touch).run();
}
process.stdout.write('held\\n');
const release = () => {
  db.exec('ROLLBACK');
  db.close();
  process.stdout.write('released\\n');
  process.exit(0);
};
process.stdin.once('data', release);
process.stdin.once('end', release);
if (Number(releaseAfterMs) > 0) setTimeout(release, Number(releaseAfterMs));
`;

/** Starts a separate node process holding `kind` on the SQLite file; resolves once it holds it. */
export async function holdLock(path: string, kind: LockKind, options: HoldOptions = {}): Promise<HeldLock> {
  const touch = options.touch ?? 'UPDATE user SET email = email WHERE id = 1';
  const args = ['-e', HOLDER, BETTER_SQLITE3, path, kind, touch, String(options.releaseAfterMs ?? 0)];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  // Asking a holder that already let go by itself writes to a closed pipe.
  child.stdin.on('error', () => {});
  let released = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      released = true;
      resolve();
    }),
  );
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    lines.once('line', (line) => (line === 'held' ? resolve() : reject(new Error(`lock holder said: ${line}`))));
    child.once('exit', (code) => reject(new Error(`lock holder exited with ${code} before holding the lock`)));
  });
  lines.on('line', (line) => {
    if (line === 'released') released = true;
  });
  return {
    release: async () => {
      child.stdin.end('release\n');
      await exited;
      lines.close();
    },
    get released() {
      return released;
    },
  };
}
