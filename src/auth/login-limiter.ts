import { TooManyFailures } from '../domain-errors.js';
import { LruCache } from '../util/lru-cache.js';
import { clientAddressKey, clientNetworkKey } from './client-address.js';

interface LoginLimits {
  /** Failed logins allowed per client address (IPv6: /64) within the window; 0 turns the limit off. */
  perAddress: number;
  /** Failed logins allowed per username from one network (IPv4 /24, IPv6 /48) within the window; 0: off. */
  perUserAndNetwork: number;
  windowMs: number;
  /** The longest wait before a username's password is checked while it is under attack; 0: no waits. */
  maxDelayMs: number;
}

/** One login attempt that passed the limiter. Settle it exactly once. */
interface LoginAttempt {
  /** How long to wait before verifying: grows with the username's recent failures (from anywhere). */
  delayMs: number;
  succeeded(): void;
  failed(): void;
  /** Refused unchecked for lack of capacity (VerificationsFull): counted against the address, which sent it. */
  refused(): void;
  /** The credentials were never checked for another reason (app.db locked): nothing is counted. */
  abandoned(): void;
}

/** Failures of one username, from any address, a new attempt may follow with no wait (a few typos). */
const FREE_FAILURES = 3;
/** The first wait; each further failure doubles it, up to `maxDelayMs`. */
const FIRST_DELAY_MS = 250;

/**
 * The wait before checking a password for a username that `failures` recent attempts got wrong:
 * none for the first few, then 250 ms doubling to `maxDelayMs`. Kept to a few seconds on purpose:
 * KOReader gives up after 5 s, and the wait must never keep the real user out, only slow a guesser.
 */
export function loginDelayMs(failures: number, maxDelayMs: number): number {
  if (failures < FREE_FAILURES || maxDelayMs <= 0) return 0;
  return Math.min(maxDelayMs, FIRST_DELAY_MS * 2 ** (failures - FREE_FAILURES));
}

/** How many failures bring the wait to `maxDelayMs` (more need not be kept). */
function saturation(maxDelayMs: number): number {
  return maxDelayMs <= 0 ? 0 : FREE_FAILURES + Math.max(0, Math.ceil(Math.log2(maxDelayMs / FIRST_DELAY_MS)));
}

/** Keys kept per window; the oldest are dropped first, so memory stays bounded under a spray of addresses. */
const MAX_KEYS = 50_000;
/** How long an address that logged in as a user stays exempt from that user's limit and wait. */
const KNOWN_ADDRESS_MS = 30 * 24 * 60 * 60 * 1000;
const MAX_KNOWN_ADDRESSES = 50_000;

/**
 * Failed-login limits (docs/PROTOCOL.md §3.7) over a sliding window: per client address, and per
 * username from one network. `begin` refuses (TooManyFailures, with when to retry) before any hash is
 * verified. Attempts being verified count as failures until they settle, so a burst of concurrent
 * guesses cannot outrun a limit.
 *
 * No limit is per username alone: 20 wrong passwords from anywhere would otherwise lock the real user
 * out of every new device. A username under attack from many addresses is slowed instead: each attempt
 * waits (`delayMs`, a few seconds at most) before its check, whatever the address, and a right password
 * is never refused for it. The waits and limits depend on the name typed only, never on whether such a
 * user exists (no enumeration). An address that has logged in as the user before is exempt from both
 * (its own failures still count against its address), and remembered logins never reach the limiter. A
 * success does not reset any counter: otherwise one valid account would reset an address's count.
 */
export class LoginLimiter {
  private readonly byAddress: FailureWindow;
  private readonly byUserAndNetwork: FailureWindow;
  /** Recent failures per username from any address, counted up to where the wait is longest. */
  private readonly byUsername: FailureWindow;
  /** `username \0 address key` of addresses that logged in as the user, for KNOWN_ADDRESS_MS. */
  private readonly knownAddresses: LruCache<string, true>;

  constructor(
    private readonly limits: LoginLimits,
    /** Monotonic milliseconds (src/clock.ts). */
    private readonly now: () => number,
  ) {
    this.byAddress = new FailureWindow(limits.perAddress, limits.windowMs);
    this.byUserAndNetwork = new FailureWindow(limits.perUserAndNetwork, limits.windowMs);
    this.byUsername = new FailureWindow(saturation(limits.maxDelayMs), limits.windowMs);
    this.knownAddresses = new LruCache({ maxEntries: MAX_KNOWN_ADDRESSES, ttlMs: KNOWN_ADDRESS_MS, now });
  }

  /** Starts an attempt, or throws TooManyFailures when the address, or the username from its network, is over its limit. */
  begin(address: string | undefined, username: string): LoginAttempt {
    const now = this.now();
    const userKey = username.toLowerCase();
    const addressKey = address === undefined ? undefined : clientAddressKey(address);
    const userNetworkKey = address === undefined ? undefined : `${userKey}\0${clientNetworkKey(address)}`;
    const known = addressKey !== undefined && this.knownAddresses.peek(`${userKey}\0${addressKey}`) !== undefined;
    const waitMs = Math.max(
      addressKey === undefined ? 0 : this.byAddress.waitMs(addressKey, now),
      known || userNetworkKey === undefined ? 0 : this.byUserAndNetwork.waitMs(userNetworkKey, now),
    );
    if (waitMs > 0) {
      throw new TooManyFailures(Math.max(1, Math.ceil(waitMs / 1000)));
    }
    // Failures only, not attempts in progress: a reader's concurrent first requests are never held back.
    const delayMs = known ? 0 : loginDelayMs(this.byUsername.failures(userKey, now), this.limits.maxDelayMs);
    if (addressKey !== undefined) this.byAddress.reserve(addressKey);
    if (userNetworkKey !== undefined) this.byUserAndNetwork.reserve(userNetworkKey);
    let settled = false;
    const settle = (outcome: 'succeeded' | 'failed' | 'refused' | 'abandoned') => {
      if (settled) return;
      settled = true;
      const at = this.now();
      const failedAt = outcome === 'failed' ? at : undefined;
      if (addressKey !== undefined) this.byAddress.release(addressKey, outcome === 'failed' || outcome === 'refused' ? at : undefined);
      if (userNetworkKey !== undefined) this.byUserAndNetwork.release(userNetworkKey, failedAt);
      if (failedAt !== undefined) this.byUsername.record(userKey, failedAt);
      if (outcome === 'succeeded' && addressKey !== undefined) this.knownAddresses.set(`${userKey}\0${addressKey}`, true);
    };
    return {
      delayMs,
      succeeded: () => settle('succeeded'),
      failed: () => settle('failed'),
      refused: () => settle('refused'),
      abandoned: () => settle('abandoned'),
    };
  }
}

interface Failures {
  /** When each failure in the window happened, oldest first. */
  times: number[];
  /** Attempts being verified now. */
  pending: number;
}

/** Failure times per key over a sliding window, with attempts in progress counted against the limit. */
class FailureWindow {
  private readonly entries = new LruCache<string, Failures>({ maxEntries: MAX_KEYS });

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** 0 when an attempt may start now, else how long until one may. */
  waitMs(key: string, now: number): number {
    if (this.limit <= 0) return 0;
    const entry = this.current(key, now);
    if (!entry) return 0;
    const over = entry.times.length + entry.pending - this.limit + 1;
    if (over <= 0) return 0;
    // The wait until enough recorded failures leave the window; attempts still in progress settle soon.
    const expiring = entry.times[Math.min(over, entry.times.length) - 1];
    return expiring === undefined ? 1000 : Math.max(1, expiring + this.windowMs - now);
  }

  /** Failures in the window (at most the limit: no more are kept). */
  failures(key: string, now: number): number {
    if (this.limit <= 0) return 0;
    return this.current(key, now)?.times.length ?? 0;
  }

  reserve(key: string): void {
    if (this.limit <= 0) return;
    const entry = this.entries.peek(key) ?? { times: [], pending: 0 };
    entry.pending++;
    this.entries.set(key, entry);
  }

  release(key: string, failedAt: number | undefined): void {
    if (this.limit <= 0) return;
    const entry = this.entries.peek(key);
    if (!entry) return; // dropped by the bound on keys
    entry.pending = Math.max(0, entry.pending - 1);
    if (failedAt !== undefined) this.push(entry, failedAt);
    if (entry.times.length === 0 && entry.pending === 0) this.entries.delete(key);
    else this.entries.set(key, entry);
  }

  /** A failure of an attempt that was not reserved. */
  record(key: string, failedAt: number): void {
    if (this.limit <= 0) return;
    const entry = this.entries.peek(key) ?? { times: [], pending: 0 };
    this.push(entry, failedAt);
    this.entries.set(key, entry);
  }

  private push(entry: Failures, failedAt: number): void {
    entry.times.push(failedAt);
    if (entry.times.length > this.limit) entry.times.splice(0, entry.times.length - this.limit);
  }

  /** The entry with failures older than the window dropped. */
  private current(key: string, now: number): Failures | undefined {
    const entry = this.entries.peek(key);
    if (!entry) return undefined;
    const firstInWindow = entry.times.findIndex((t) => t > now - this.windowMs);
    entry.times.splice(0, firstInWindow < 0 ? entry.times.length : firstInWindow);
    if (entry.times.length === 0 && entry.pending === 0) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
