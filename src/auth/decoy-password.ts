import { randomBytes } from 'node:crypto';
import { msLeft } from '../clock.js';
import type { PasswordVerifier } from './password-verifier.js';

/**
 * What Calibre-Web writes when no user has a hash yet: werkzeug 3.x generate_password_hash's default
 * (docs/UPSTREAM.md#werkzeug-password-hashes).
 */
const FALLBACK_FORMAT = { method: 'scrypt:32768:8:1', saltLength: 16, digestLength: 128 };
/** How long the chosen format is trusted before app.db is looked at again (users change passwords). */
const REFRESH_MS = 60 * 60 * 1000;
const SALT_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * A hash no password matches, in the format most users of this app.db have (method, salt length,
 * digest length of the first such user), so checking it costs what checking a real user's costs.
 */
export function decoyHashLike(storedHashes: readonly string[]): string {
  const counts = new Map<string, { count: number; sample: string }>();
  for (const hash of storedHashes) {
    const dollar = hash.indexOf('$');
    if (dollar <= 0) continue;
    const method = hash.slice(0, dollar);
    const seen = counts.get(method);
    if (seen) seen.count++;
    else counts.set(method, { count: 1, sample: hash });
  }
  // Ties go to the format seen first, i.e. that of the lowest user id (the admin Calibre-Web created).
  let commonest: { count: number; sample: string } | undefined;
  for (const entry of counts.values()) if (!commonest || entry.count > commonest.count) commonest = entry;
  return hashOfFormat(commonest ? formatOf(commonest.sample) : FALLBACK_FORMAT);
}

/** A hash no password matches with the method, salt length and digest length of `sample`. */
export function decoyHashOf(sample: string): string {
  return hashOfFormat(formatOf(sample));
}

function hashOfFormat(format: typeof FALLBACK_FORMAT): string {
  const salt = Array.from(randomBytes(format.saltLength), (b) => SALT_CHARS[b % SALT_CHARS.length]).join('');
  const digest = randomBytes(Math.ceil(format.digestLength / 2))
    .toString('hex')
    .slice(0, format.digestLength);
  return `${format.method}$${salt}$${digest}`;
}

function formatOf(sample: string): typeof FALLBACK_FORMAT {
  const [method = '', salt = '', digest = ''] = sample.split('$');
  return { method, saltLength: salt.length, digestLength: digest.length };
}

/**
 * Makes a login that cannot succeed (unknown user, Guest, a user without a local hash) cost what a wrong
 * password costs, so response time does not tell which usernames exist (docs/PROTOCOL.md §3.7). The
 * check runs through the same verifier as real logins, against a decoy hash of the commonest format.
 */
export class DecoyPassword {
  private decoy: { hash: string; madeAt: number } | undefined;

  constructor(
    private readonly verifier: PasswordVerifier,
    /** The stored hashes, waiting for app.db's lock at most `lockWaitMs`. */
    private readonly storedHashes: (lockWaitMs: number) => Promise<readonly string[]>,
    /** Monotonic milliseconds (src/clock.ts). */
    private readonly now: () => number,
  ) {}

  /** `deadline` (monotonic ms) ends the wait for app.db's lock when the decoy is made; a refresh never waits. */
  async check(username: string, password: string, deadline: number): Promise<void> {
    await this.verifier({ id: 0, name: username, role: 0, password: await this.hash(deadline) }, password);
  }

  private async hash(deadline: number): Promise<string> {
    const decoy = this.decoy;
    if (!decoy || this.now() - decoy.madeAt > REFRESH_MS) {
      try {
        this.decoy = { hash: decoyHashLike(await this.storedHashes(decoy ? 0 : msLeft(deadline, this.now()))), madeAt: this.now() };
      } catch (error) {
        if (!decoy) throw error;
        // app.db busy: the decoy in hand stays until the next failed login tries again.
      }
    }
    return this.decoy!.hash;
  }
}
