import type { Clock } from '../clock.js';
import { DatabaseBusy } from '../domain-errors.js';
import { isBusy, retryWhileBusy } from './busy.js';
import type { Connection } from './query.js';
import { isStorageFailure } from './storage-failure.js';

/** What one write came to: its value, or the error that rolled back its savepoint. */
type Outcome = { value?: unknown; error?: unknown };

interface Write {
  body: (conn: Connection) => unknown;
  deadline: number;
  onLockWait: (() => void) | undefined;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Write transactions on one connection, committed in groups: every write that arrives while the
 * previous group commits (or waits for a lock) joins the next `BEGIN IMMEDIATE` … `COMMIT`, each in a
 * savepoint of its own, so a failing write rolls back alone and the others still commit. A PUT is
 * durable before it is answered, and concurrent PUTs share one fsync instead of queueing for one each
 * (the commit, not the statements, is what costs: ~2 ms of fsync against ~50 µs of writes).
 *
 * A group runs synchronously, so nothing else touches the connection meanwhile. SQLITE_BUSY (the lock
 * is held elsewhere, or another process still reads when we commit) rolls the whole group back and
 * retries later: in rollback-journal mode a COMMIT left waiting keeps the PENDING lock, which would
 * shut out every new reader, this process's GETs and logins included. Each write gives up with
 * DatabaseBusy once its own budget, counted from its arrival, has passed.
 *
 * When SQLite rolls the whole transaction back itself (disk full, an I/O error, a trigger's
 * RAISE(ROLLBACK)), a storage failure fails the whole group (every write would meet it), any other
 * error fails only the write that caused it, and the others run again in a new transaction.
 */
export class GroupCommit {
  private queue: Write[] = [];
  private running = false;
  /** COMMITs issued (one per group). */
  commits = 0;

  constructor(
    /** The connection to write on, looked up for each attempt (app.db may have been reopened). */
    private readonly connection: () => Connection,
    private readonly clock: Clock,
  ) {}

  run<T>(body: (conn: Connection) => T, lockWaitMs: number, onLockWait?: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        body,
        deadline: this.clock.monotonicMs() + lockWaitMs,
        onLockWait,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      if (!this.running) {
        this.running = true;
        // Writes arriving in this turn of the event loop join the first group.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      await this.commitGroup(group);
    }
    this.running = false;
  }

  private async commitGroup(writes: Write[]): Promise<void> {
    let group = writes;
    let outcomes: Outcome[];
    try {
      outcomes = await retryWhileBusy(
        () => {
          // A write SQLite rolled the whole transaction back for fails alone; the others run again at once.
          for (;;) {
            if (group.length === 0) return [];
            try {
              return this.attempt(this.connection(), group);
            } catch (error) {
              if (!(error instanceof TransactionLost)) throw error;
              error.write.reject(error.cause);
              group = group.filter((write) => write !== error.write);
            }
          }
        },
        {
          // Each write gives up once its own budget has passed; the others wait on.
          waitLeft: () => {
            const now = this.clock.monotonicMs();
            group = group.filter((write) => {
              if (write.deadline > now) return true;
              write.reject(new DatabaseBusy("the database stayed locked by another process past the write's wait budget"));
              return false;
            });
            return group.length === 0 ? 0 : Math.min(...group.map((w) => w.deadline)) - now;
          },
          onWait: () => {
            for (const write of group) write.onLockWait?.();
          },
        },
      );
    } catch (error) {
      // When the lock outlasted every budget, each write has had its answer already.
      if (!(error instanceof DatabaseBusy && group.length === 0)) for (const write of group) write.reject(error);
      return;
    }
    group.forEach((write, i) => {
      const outcome = outcomes[i]!;
      if ('error' in outcome) write.reject(outcome.error);
      else write.resolve(outcome.value);
    });
  }

  /**
   * One BEGIN IMMEDIATE … COMMIT over the group; throws (after rolling back) on SQLITE_BUSY, a storage
   * failure, a failed COMMIT, or TransactionLost.
   */
  private attempt(conn: Connection, group: Write[]): Outcome[] {
    conn.statement('BEGIN IMMEDIATE').run();
    try {
      const outcomes = group.map((write) => {
        conn.statement('SAVEPOINT write').run();
        try {
          const value = write.body(conn);
          conn.statement('RELEASE write').run();
          return { value };
        } catch (error) {
          if (isBusy(error) || isStorageFailure(error)) throw error;
          if (!conn.raw.inTransaction) throw new TransactionLost(write, error);
          conn.statement('ROLLBACK TO write').run();
          conn.statement('RELEASE write').run();
          return { error };
        }
      });
      conn.statement('COMMIT').run();
      this.commits++;
      return outcomes;
    } catch (error) {
      if (conn.raw.inTransaction) conn.raw.exec('ROLLBACK');
      throw error;
    }
  }
}

/** SQLite rolled the group's transaction back when `write` failed with `cause`. */
class TransactionLost extends Error {
  constructor(
    readonly write: Write,
    override readonly cause: unknown,
  ) {
    super('the transaction was rolled back by SQLite');
  }
}
