import { createHash, createHmac, randomBytes } from 'node:crypto';
import { LruCache } from '../util/lru-cache.js';
import type { Credentials } from './credentials.js';

interface RememberedLogin {
  userId: number;
  /** Fingerprint of the user's stored Calibre-Web password hash when the login was verified. */
  hashFingerprint: string;
  method: string;
}

interface RememberedLoginsOptions {
  maxEntries: number;
  ttlMs: number;
}

/** A short, non-reversible fingerprint of a stored password hash (never kept or logged as is). */
export function fingerprintOf(storedHash: string): string {
  return createHash('sha256').update(storedHash, 'utf8').digest('base64url');
}

/**
 * Successful verifications, so a repeated sync costs microseconds instead of 100–400 ms of key
 * derivation (docs/PROTOCOL.md §3.6). Keyed by an HMAC with a per-process secret over scheme,
 * lower-cased username and secret: the plaintext is never kept. An entry counts only while the user's
 * stored hash is unchanged, so a password change in Calibre-Web takes effect on the next request.
 * LRU-bounded.
 */
export class RememberedLogins {
  private readonly key = randomBytes(32);
  private readonly entries: LruCache<string, RememberedLogin>;

  /** `now`: monotonic milliseconds (src/clock.ts). */
  constructor(
    private readonly options: RememberedLoginsOptions,
    now: () => number,
  ) {
    this.entries = new LruCache({ maxEntries: options.maxEntries, ttlMs: options.ttlMs, now });
  }

  keyFor(credentials: Credentials): string {
    return createHmac('sha256', this.key)
      .update(`${credentials.scheme}\0${credentials.username.toLowerCase()}\0`)
      .update(credentials.secret, 'utf8')
      .digest('base64url');
  }

  /** The remembered login for this key if it still fits the user's current row. */
  find(key: string, userId: number, storedHash: string): RememberedLogin | undefined {
    const entry = this.entries.get(key);
    if (entry && (entry.userId !== userId || entry.hashFingerprint !== fingerprintOf(storedHash))) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** `ttlMs` may shorten the configured time to live (LDAP logins), never lengthen it. */
  remember(key: string, userId: number, storedHash: string, method: string, ttlMs = this.options.ttlMs): void {
    const keepMs = Math.min(ttlMs, this.options.ttlMs);
    if (keepMs > 0) this.entries.set(key, { userId, hashFingerprint: fingerprintOf(storedHash), method }, keepMs);
  }
}
