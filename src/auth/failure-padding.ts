import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { decoyHashOf } from './decoy-password.js';
import type { PasswordVerifier } from './password-verifier.js';
import { DEFAULT_PBKDF2_ITERATIONS, verifyWerkzeugHash } from './werkzeug.js';

/** A password method of app.db's users, with one stored hash of it. */
interface StoredFormat {
  method: string;
  sample: string;
}

interface FailurePaddingDeps {
  /** The methods app.db's users have, or undefined when app.db cannot be read without waiting. */
  storedFormats: () => StoredFormat[] | undefined;
  /** Changes whenever app.db may have changed (`PRAGMA data_version`); undefined when unreadable. */
  version: () => string | undefined;
  /** Milliseconds one failed check against `hash` takes here. */
  measure: (hash: string) => Promise<number>;
  /** Monotonic milliseconds (src/clock.ts). */
  now: () => number;
}

/**
 * The methods worth measuring: in each family (pbkdf2 per digest, scrypt) the one with the most work.
 * A failed check of a bare `pbkdf2` hash tries each default iteration count werkzeug ever had, so it
 * costs their sum. The pre-2.3 salted digests and `plain` cost microseconds and are left out.
 */
export function slowestFormats(formats: readonly StoredFormat[]): StoredFormat[] {
  const slowest = new Map<string, { format: StoredFormat; work: number }>();
  for (const format of formats) {
    const cost = costOf(format.method);
    if (!cost) continue;
    const held = slowest.get(cost.family);
    if (!held || cost.work > held.work) slowest.set(cost.family, { format, work: cost.work });
  }
  return [...slowest.values()].map((entry) => entry.format);
}

function costOf(method: string): { family: string; work: number } | undefined {
  const [name, ...args] = method.split(':');
  const numbers = args.map((a) => (/^\d+$/.test(a) ? Number(a) : NaN));
  if (name === 'pbkdf2' && args.length <= 2) {
    const work = args.length === 2 ? numbers[1]! : DEFAULT_PBKDF2_ITERATIONS.reduce((sum, n) => sum + n, 0);
    return Number.isFinite(work) ? { family: `pbkdf2:${args[0] ?? 'sha256'}`, work } : undefined;
  }
  if (name === 'scrypt' && (args.length === 0 || args.length === 3)) {
    const work = args.length === 3 ? numbers[0]! * numbers[1]! * numbers[2]! : 32768 * 8;
    return Number.isFinite(work) ? { family: 'scrypt', work } : undefined;
  }
  return undefined;
}

/** Times failed checks of `hash` with the real verifier (two, keeping the longer: never pad too little). */
export async function timeFailedCheck(hash: string, now: () => number): Promise<number> {
  let longest = 0;
  for (let run = 0; run < 2; run++) {
    const started = now();
    await verifyWerkzeugHash(hash, randomBytes(12).toString('base64url'));
    longest = Math.max(longest, now() - started);
  }
  return longest;
}

/** How much each new observation moves a format's running average. */
const OBSERVED_WEIGHT = 0.2;

/**
 * Makes every failed password login take at least as long as a failed check of the slowest hash
 * format in app.db, so the time of a failure tells nothing about the user: not whether the name exists,
 * nor which werkzeug version wrote its hash (pbkdf2 with 1,000 or 1,000,000 iterations, scrypt). Each
 * family's costliest format is measured (its decoy checked with the real verifier) once the first
 * failure needs it, and again when the users' formats change (seen through app.db's data_version).
 * Real failed checks are observed too: once a format has them, its running average stands for it, so
 * the target follows the host's load both ways (a measurement taken in a busy moment does not pad
 * every failure too long for good, a busier host does not leave the slowest format unpadded).
 * Successful logins are never padded.
 */
export class FailurePadding {
  private known: { version: string | undefined; formats: string; measured: Map<string, number> } | undefined;
  private measuring: Promise<number> | undefined;
  /** Running average of real failed checks, per method. */
  private readonly observed = new Map<string, number>();

  constructor(private readonly deps: FailurePaddingDeps) {}

  /** Waits until `startedAt` (monotonic ms, when the check began) plus the target. */
  async pad(startedAt: number): Promise<void> {
    const left = startedAt + (await this.targetMs()) - this.deps.now();
    if (left > 0) await sleep(left);
  }

  /** `verify`, with the time of each failed check of a local hash (real or decoy) observed. */
  observing(verify: PasswordVerifier): PasswordVerifier {
    return async (user, password, deadline) => {
      const started = this.deps.now();
      const verified = await verify(user, password, deadline);
      const dollar = user.password.indexOf('$');
      if (!verified && dollar > 0) this.observe(user.password.slice(0, dollar), this.deps.now() - started);
      return verified;
    };
  }

  /** A failed check of a hash of `method` took `ms`. */
  observe(method: string, ms: number): void {
    const average = this.observed.get(method);
    this.observed.set(method, average === undefined ? ms : average + OBSERVED_WEIGHT * (ms - average));
  }

  /** How long a failed check of the slowest format present takes, in milliseconds. */
  async targetMs(): Promise<number> {
    const version = this.deps.version();
    const known = this.known;
    if (known && (version === undefined || version === known.version)) return this.targetOf(known.measured);
    const formats = this.deps.storedFormats();
    if (!formats) return known ? this.targetOf(known.measured) : 0; // app.db busy: what was measured stands
    const candidates = slowestFormats(formats);
    const signature = candidates.map((format) => format.method).join('\n');
    if (known && known.formats === signature) {
      known.version = version;
      return this.targetOf(known.measured);
    }
    this.measuring ??= this.measureAll(candidates)
      .then((measured) => {
        this.known = { version, formats: signature, measured };
        return this.targetOf(measured);
      })
      .finally(() => {
        this.measuring = undefined;
      });
    return this.measuring;
  }

  /** The slowest of the measured formats, each at its observed running average once it has one. */
  private targetOf(measured: Map<string, number>): number {
    let target = 0;
    for (const [method, ms] of measured) target = Math.max(target, this.observed.get(method) ?? ms);
    return target;
  }

  private async measureAll(candidates: readonly StoredFormat[]): Promise<Map<string, number>> {
    const measured = new Map<string, number>();
    for (const format of candidates) measured.set(format.method, await this.deps.measure(decoyHashOf(format.sample)));
    return measured;
  }
}
