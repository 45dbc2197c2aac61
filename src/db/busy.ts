import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../clock.js';
import { DatabaseBusy } from '../domain-errors.js';

/** SQLITE_BUSY and its extended codes: another connection (Calibre-Web, calibre) holds the lock. */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** Waits that double from `first` to at most `max` milliseconds between tries for a lock. */
export class Backoff {
  private delay: number;

  constructor(
    private readonly first: number,
    private readonly max: number,
  ) {
    this.delay = first;
  }

  /** The next wait, at most `limit`; the one after is twice as long (up to `max`). */
  next(limit = Number.POSITIVE_INFINITY): number {
    const wait = Math.min(this.delay, limit);
    this.delay = Math.min(this.delay * 2, this.max);
    return wait;
  }

  reset(): void {
    this.delay = this.first;
  }
}

/** How long retrying may go on, asked after each SQLITE_BUSY, and who hears of each wait. */
interface BusyRetry {
  /** Milliseconds waiting may still go on; at 0 or less the retry gives up with DatabaseBusy. */
  waitLeft(): number;
  /** Told before each wait (lock waits are counted). */
  onWait?: () => void;
}

/** Retry until the clock's monotonic `deadline`. */
export function until(deadline: number, clock: Clock): BusyRetry {
  return { waitLeft: () => deadline - clock.monotonicMs() };
}

/**
 * Runs `attempt` until it stops failing with SQLITE_BUSY, waiting 1, 2, 4 … 25 ms between tries, or
 * until `retry.waitLeft()` says to stop (then DatabaseBusy). Connections use busy_timeout 0, so a lock
 * held by Calibre-Web is waited for here, between event-loop turns, instead of inside SQLite where it
 * would freeze every other request.
 */
export async function retryWhileBusy<T>(attempt: () => T, retry: BusyRetry): Promise<T> {
  const backoff = new Backoff(1, 25);
  for (;;) {
    try {
      return attempt();
    } catch (error) {
      if (!isBusy(error)) throw error;
      const left = retry.waitLeft();
      if (left <= 0) throw new DatabaseBusy('the database stayed locked by another process past the wait budget');
      retry.onWait?.();
      await sleep(backoff.next(left));
    }
  }
}
