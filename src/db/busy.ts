import type { Clock } from '../clock.js';
import { DatabaseBusy } from '../domain-errors.js';

/** SQLITE_BUSY and its extended codes: another connection (Calibre-Web, calibre) holds the lock. */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt` until it stops failing with SQLITE_BUSY or the deadline (the clock's monotonic
 * milliseconds) passes (then DatabaseBusy).
 * Connections use busy_timeout 0, so a lock held by Calibre-Web is waited for here, between event-loop
 * turns, instead of inside SQLite where it would freeze every other request.
 */
export async function retryWhileBusy<T>(attempt: () => T, deadline: number, clock: Clock, onWait?: () => void): Promise<T> {
  let delay = 1;
  for (;;) {
    try {
      return attempt();
    } catch (error) {
      if (!isBusy(error)) throw error;
      const left = deadline - clock.monotonicMs();
      if (left <= 0) throw new DatabaseBusy('the database stayed locked by another process past the wait budget');
      onWait?.();
      await sleep(Math.min(delay, left));
      delay = Math.min(delay * 2, 25);
    }
  }
}
