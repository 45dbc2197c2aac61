import { KosyncError } from '../errors.js';

/** SQLITE_BUSY and its extended codes: another connection (Calibre-Web, calibre) holds the lock. */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt` until it stops failing with SQLITE_BUSY or the deadline passes (then 503/1000).
 * Connections use busy_timeout 0, so a lock held by Calibre-Web is waited for here, between event-loop
 * turns, instead of inside SQLite where it would freeze every other request.
 */
export async function retryWhileBusy<T>(
  attempt: () => T,
  deadline: number,
  onWait?: () => void,
): Promise<T> {
  let delay = 1;
  for (;;) {
    try {
      return attempt();
    } catch (error) {
      if (!isBusy(error)) throw error;
      const left = deadline - Date.now();
      if (left <= 0) throw new KosyncError('storageUnavailable');
      onWait?.();
      await sleep(Math.min(delay, left));
      delay = Math.min(delay * 2, 25);
    }
  }
}

/** A FIFO lock: one write transaction per connection at a time; taken without a wait when free. */
export class Mutex {
  private locked = false;
  private readonly queue: Array<() => void> = [];

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.locked) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.locked = true;
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.locked = false;
    }
  }
}
