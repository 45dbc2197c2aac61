import { createHash, createHmac, getHashes, pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);
const scryptAsync = promisify(scrypt) as (
  password: Buffer,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

const PBKDF2_DIGESTS = new Set(['sha1', 'sha224', 'sha256', 'sha384', 'sha512']);
const LEGACY_DIGESTS = new Set(['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'].filter((d) => getHashes().includes(d)));
/**
 * Iterations a bare `pbkdf2` or `pbkdf2:<digest>` hash stands for: each werkzeug version used its own
 * default (2.0–2.2: 260000, 2.3–3.0: 600000, 3.1: 1000000; security.py at those tags,
 * docs/UPSTREAM.md#werkzeug-password-hashes). The hash does not say which version wrote it, so each is
 * tried.
 */
export const DEFAULT_PBKDF2_ITERATIONS = [1_000_000, 600_000, 260_000];
/** Guards against a hash that would take minutes or gigabytes (werkzeug's own defaults are far below). */
const MAX_PBKDF2_ITERATIONS = 10_000_000;
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;

const DECIMAL = /^\d+$/;

/**
 * werkzeug.security.check_password_hash for every format Calibre-Web has stored
 * (docs/UPSTREAM.md#werkzeug-password-hashes): `pbkdf2:<digest>:<iterations>`, `scrypt:<n>:<r>:<p>`, and
 * the pre-2.3 forms `plain$$pw`, `<digest>$<salt>$<hmac>` and `<digest>$$<digest(pw)>`. A hash any
 * released werkzeug accepts is accepted. Key derivation runs on libuv's thread pool. Never throws: a
 * malformed hash is a failed check.
 */
export async function verifyWerkzeugHash(stored: string, password: string): Promise<boolean> {
  try {
    return await check(stored, password);
  } catch {
    return false;
  }
}

async function check(stored: string, password: string): Promise<boolean> {
  const first = stored.indexOf('$');
  const second = first < 0 ? -1 : stored.indexOf('$', first + 1);
  if (second < 0) return false;
  const method = stored.slice(0, first);
  const salt = Buffer.from(stored.slice(first + 1, second), 'utf8');
  const expected = stored.slice(second + 1);
  const pw = Buffer.from(password, 'utf8');
  const [name, ...args] = method.split(':');

  if (name === 'pbkdf2') {
    if (args.length > 2) return false;
    const digest = args[0] ?? 'sha256';
    if (!PBKDF2_DIGESTS.has(digest)) return false;
    const iterationChoices = args.length === 2 ? [parseCount(args[1])] : DEFAULT_PBKDF2_ITERATIONS;
    const keyLength = createHash(digest).digest().length;
    for (const iterations of iterationChoices) {
      if (iterations === undefined || iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS) return false;
      const derived = await pbkdf2Async(pw, salt, iterations, keyLength, digest);
      if (constantTimeEqual(derived.toString('hex'), expected)) return true;
    }
    return false;
  }

  if (name === 'scrypt') {
    if (args.length !== 0 && args.length !== 3) return false;
    const [n, r, p] = args.length === 3 ? args.map(parseCount) : [32768, 8, 1];
    if (!n || !r || !p) return false;
    const maxmem = 132 * n * r * p; // werkzeug's own bound
    if (maxmem > MAX_SCRYPT_MEMORY) return false;
    const derived = await scryptAsync(pw, salt, 64, { N: n, r, p, maxmem });
    return constantTimeEqual(derived.toString('hex'), expected);
  }

  if (args.length > 0) return false;
  if (name === 'plain') return constantTimeEqual(expected, password);
  if (!LEGACY_DIGESTS.has(name!)) return false;
  const digest = salt.length === 0 ? createHash(name!).update(pw).digest('hex') : createHmac(name!, salt).update(pw).digest('hex');
  return constantTimeEqual(digest, expected);
}

function parseCount(text: string | undefined): number | undefined {
  return text !== undefined && DECIMAL.test(text) ? Number(text) : undefined;
}

/**
 * werkzeug compares lower-case hex strings with hmac.compare_digest: an upper-case digest fails
 * (docs/UPSTREAM.md#werkzeug-password-hashes).
 */
function constantTimeEqual(actual: string, expected: string): boolean {
  const a = Buffer.from(actual, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

const SALT_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * A hash as werkzeug 3.x generate_password_hash writes it (`scrypt:32768:8:1`, 16-char salt:
 * docs/UPSTREAM.md#werkzeug-password-hashes).
 */
export async function generateWerkzeugHash(password: string): Promise<string> {
  const salt = Array.from(randomBytes(16), (b) => SALT_CHARS[b % SALT_CHARS.length]).join('');
  const [n, r, p] = [32768, 8, 1];
  const derived = await scryptAsync(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), 64, { N: n, r, p, maxmem: 132 * n * r * p });
  return `scrypt:${n}:${r}:${p}$${salt}$${derived.toString('hex')}`;
}
