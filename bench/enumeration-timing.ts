// How long a failed login takes for an unknown user, the Guest account, a user without a local hash and
// wrong passwords for users of every hash format in the fixtures' app.db (docs/PROTOCOL.md §3.7: none may tell
// usernames or hash formats apart). Runs the app in-process on a temp copy of the fixtures. Beside each
// answer's time it shows the password check alone, which is what a failed login took before failures
// were padded to the slowest format: the decoy (the commonest format, admin's pbkdf2:sha256:260000) for
// names that cannot log in, the user's own hash otherwise.
// Usage: npm run bench:timing [-- rounds]
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.js';
import { decoyHashLike } from '../src/auth/decoy-password.js';
import { verifyWerkzeugHash } from '../src/auth/werkzeug.js';
import { loadConfig } from '../src/config.js';
import { openDatabases } from '../src/databases.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { findUserByName, listPasswordHashes } from '../src/repos/users.js';

const ROUNDS = Number(process.argv[2] ?? 15);
const WARM_UP = 2;
/** How far apart the padded medians may be (of the slowest) for the run to pass. */
const TOLERANCE = 0.05;
const CASES = {
  'unknown user': 'nobody-here',
  'Guest account': 'Guest',
  'no local hash (ldapuser)': 'ldapuser',
  'pbkdf2:sha256:1000000 (carol)': 'carol',
  'pbkdf2:sha256:600000 (Bob)': 'Bob',
  'pbkdf2:sha256:260000 (admin)': 'admin',
  'scrypt:32768:8:1 (alice)': 'alice',
  'pbkdf2:sha1:1000 (dave)': 'dave',
} as const;

const dir = mkdtempSync(join(tmpdir(), 'kosync-bench-timing-'));
cpSync(join(PROJECT_ROOT, 'test', 'fixtures', 'calibre-web', 'app.db'), join(dir, 'app.db'));
const config = loadConfig({
  KOSYNC_APP_DB: join(dir, 'app.db'),
  KOSYNC_LOG_LEVEL: 'silent',
  // Limits and waits off: every attempt is verified at once, as for attempts spread over many addresses.
  KOSYNC_LOGIN_FAILURES_PER_ADDRESS: '0',
  KOSYNC_LOGIN_FAILURES_PER_USER: '0',
  KOSYNC_LOGIN_DELAY_MAX_MS: '0',
});
const databases = openDatabases(config, { warn: () => {} });
const app = await buildApp(config, { databases });
// The hash each failed login was checked against before padding: the user's own, or the decoy.
const decoy = decoyHashLike(listPasswordHashes(databases.appDb.read));
const checkedHash = (name: string) => {
  const user = findUserByName(databases.appDb.read, name);
  return user && user.password !== '' && user.name !== 'Guest' ? user.password : decoy;
};

const elapsedMs = async (action: () => Promise<unknown>) => {
  const started = process.hrtime.bigint();
  await action();
  return Number(process.hrtime.bigint() - started) / 1e6;
};
const padded = new Map<string, number[]>(Object.keys(CASES).map((name) => [name, []]));
const checkAlone = new Map<string, number[]>(Object.keys(CASES).map((name) => [name, []]));
for (let round = 0; round < ROUNDS + WARM_UP; round++) {
  for (const [name, user] of Object.entries(CASES)) {
    const password = `not-the-password-${round}`;
    const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    let status = 0;
    const answer = await elapsedMs(async () => {
      status = (await app.inject({ method: 'GET', url: '/kosync/users/auth', headers: { authorization } })).statusCode;
    });
    if (status !== 401) throw new Error(`${name}: expected 401, got ${status}`);
    const check = await elapsedMs(() => verifyWerkzeugHash(checkedHash(user), password));
    if (round >= WARM_UP) {
      padded.get(name)!.push(answer);
      checkAlone.get(name)!.push(check);
    }
  }
}
await app.close();
databases.close();
rmSync(dir, { recursive: true, force: true });

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const medians = (timings: Map<string, number[]>) => new Map([...timings].map(([name, values]) => [name, median(values)]));
const paddedMedians = medians(padded);
const aloneMedians = medians(checkAlone);
const spread = (values: Map<string, number>) => {
  const all = [...values.values()];
  return (Math.max(...all) - Math.min(...all)) / Math.max(...all);
};

console.log(`Failed-login time, median of ${ROUNDS} rounds (ms); each against the slowest of its column:`);
console.log(`  ${'case'.padEnd(32)} ${'answer (padded)'.padStart(16)} ${'check alone (before)'.padStart(22)}`);
const slowest = (values: Map<string, number>) => Math.max(...values.values());
for (const name of Object.keys(CASES)) {
  const cell = (values: Map<string, number>) => {
    const value = values.get(name)!;
    return `${value.toFixed(1).padStart(7)} ${(((value - slowest(values)) / slowest(values)) * 100).toFixed(1).padStart(6)} %`;
  };
  console.log(`  ${name.padEnd(32)} ${cell(paddedMedians).padStart(16)} ${cell(aloneMedians).padStart(22)}`);
}
const paddedSpread = spread(paddedMedians);
console.log(
  `Spread of the medians: padded ${(paddedSpread * 100).toFixed(1)} % ` +
    `(${paddedSpread <= TOLERANCE ? 'within' : 'OUTSIDE'} ${TOLERANCE * 100} %), ` +
    `check alone ${(spread(aloneMedians) * 100).toFixed(1)} %`,
);
process.exitCode = paddedSpread <= TOLERANCE ? 0 : 1;
