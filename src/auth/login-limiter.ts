import { KosyncError } from '../errors.js';
import { clientAddressKey } from './client-address.js';

export interface LoginLimits {
  /** Failed logins allowed per client address within the window; 0 turns the limit off. */
  perAddress: number;
  /** Failed logins allowed per username (whatever the address) within the window; 0 turns it off. */
  perUsername: number;
  windowMs: number;
}

/** One login attempt that passed the limiter and is being verified. Settle it exactly once. */
export interface LoginAttempt {
  succeeded(): void;
  failed(): void;
  /** The credentials were never checked (e.g. the verification queue was full): nothing is counted. */
  abandoned(): void;
}

/** Keys kept per window; the oldest are dropped first, so memory stays bounded under a spray of addresses. */
const MAX_KEYS = 50_000;
/** How long an address that logged in as a user stays exempt from that user's per-username limit. */
const KNOWN_ADDRESS_MS = 30 * 24 * 60 * 60 * 1000;
const MAX_KNOWN_ADDRESSES = 50_000;

/**
 * Failed-login limits (PROTOCOL.md §3) per client address and per username over a sliding window.
 * `begin` refuses with 429/2001 and Retry-After before any hash is verified. Attempts being verified
 * count as failures until they settle, so a burst of concurrent guesses cannot outrun the limit.
 *
 * The per-username limit stops a guessing campaign spread over many addresses. So that it never
 * locks the real user out, an address that has logged in as that user before is exempt from it
 * (its own failures still count against its address), and remembered logins never reach the limiter.
 * A success does not reset any counter: otherwise one valid account would reset an address's count.
 */
export class LoginLimiter {
  private readonly byAddress: FailureWindow;
  private readonly byUsername: FailureWindow;
  /** `username \0 address key` → until when that address is known for that user. */
  private readonly knownAddresses = new Map<string, number>();

  constructor(limits: LoginLimits, private readonly now: () => number) {
    this.byAddress = new FailureWindow(limits.perAddress, limits.windowMs);
    this.byUsername = new FailureWindow(limits.perUsername, limits.windowMs);
  }

  /** Starts an attempt, or throws 429 when the address or the username is over its limit. */
  begin(address: string | undefined, username: string): LoginAttempt {
    const now = this.now();
    const addressKey = address === undefined ? undefined : clientAddressKey(address);
    const userKey = username.toLowerCase();
    const known = addressKey !== undefined && this.isKnown(userKey, addressKey, now);
    const waitMs = Math.max(
      addressKey === undefined ? 0 : this.byAddress.waitMs(addressKey, now),
      known ? 0 : this.byUsername.waitMs(userKey, now),
    );
    if (waitMs > 0) {
      throw new KosyncError('tooManyAttempts', undefined, { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) });
    }
    if (addressKey !== undefined) this.byAddress.reserve(addressKey);
    this.byUsername.reserve(userKey);
    let settled = false;
    const settle = (outcome: 'succeeded' | 'failed' | 'abandoned') => {
      if (settled) return;
      settled = true;
      const failedAt = outcome === 'failed' ? this.now() : undefined;
      if (addressKey !== undefined) this.byAddress.release(addressKey, failedAt);
      this.byUsername.release(userKey, failedAt);
      if (outcome === 'succeeded' && addressKey !== undefined) this.rememberAddress(userKey, addressKey);
    };
    return {
      succeeded: () => settle('succeeded'),
      failed: () => settle('failed'),
      abandoned: () => settle('abandoned'),
    };
  }

  private isKnown(userKey: string, addressKey: string, now: number): boolean {
    const key = `${userKey}\0${addressKey}`;
    const until = this.knownAddresses.get(key);
    if (until === undefined) return false;
    if (until > now) return true;
    this.knownAddresses.delete(key);
    return false;
  }

  private rememberAddress(userKey: string, addressKey: string): void {
    const key = `${userKey}\0${addressKey}`;
    this.knownAddresses.delete(key);
    this.knownAddresses.set(key, this.now() + KNOWN_ADDRESS_MS);
    if (this.knownAddresses.size > MAX_KNOWN_ADDRESSES) this.knownAddresses.delete(this.knownAddresses.keys().next().value!);
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
  private readonly entries = new Map<string, Failures>();

  constructor(private readonly limit: number, private readonly windowMs: number) {}

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

  reserve(key: string): void {
    if (this.limit <= 0) return;
    const entry = this.entries.get(key) ?? { times: [], pending: 0 };
    entry.pending++;
    this.touch(key, entry);
  }

  release(key: string, failedAt: number | undefined): void {
    if (this.limit <= 0) return;
    const entry = this.entries.get(key);
    if (!entry) return; // dropped by the bound on keys
    entry.pending = Math.max(0, entry.pending - 1);
    if (failedAt !== undefined) {
      entry.times.push(failedAt);
      if (entry.times.length > this.limit) entry.times.splice(0, entry.times.length - this.limit);
    }
    if (entry.times.length === 0 && entry.pending === 0) this.entries.delete(key);
    else this.touch(key, entry);
  }

  /** The entry with failures older than the window dropped. */
  private current(key: string, now: number): Failures | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const firstInWindow = entry.times.findIndex((t) => t > now - this.windowMs);
    entry.times.splice(0, firstInWindow < 0 ? entry.times.length : firstInWindow);
    if (entry.times.length === 0 && entry.pending === 0) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Moves the key to the newest end and drops the oldest keys past the bound. */
  private touch(key: string, entry: Failures): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > MAX_KEYS) this.entries.delete(this.entries.keys().next().value!);
  }
}
