// How long a failed login takes for an unknown user, the Guest account, a user without a local hash
// and a wrong password (PROTOCOL.md §3: they must not tell usernames apart). Runs the app in-process on
// temp copies of the fixtures; admin's pbkdf2:sha256:260000 is the format the decoy hash copies there.
// Usage: npm run bench:timing [-- rounds]
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabases } from '../src/databases.js';
import { PROJECT_ROOT } from '../src/paths.js';

const ROUNDS = Number(process.argv[2] ?? 40);
const CASES = {
  'wrong password (admin)': ['admin', 'not-the-password'],
  'unknown user': ['nobody-here', 'not-the-password'],
  'Guest account': ['Guest', 'not-the-password'],
  'empty-hash user (ldapuser)': ['ldapuser', 'not-the-password'],
} as const;

const dir = mkdtempSync(join(tmpdir(), 'kosync-bench-timing-'));
cpSync(join(PROJECT_ROOT, 'test', 'fixtures', 'calibre-web', 'app.db'), join(dir, 'app.db'));
const config = loadConfig({
  KOSYNC_APP_DB: join(dir, 'app.db'),
  KOSYNC_LOG_LEVEL: 'silent',
  // Limits off: every attempt is verified, as for attempts spread over many addresses.
  KOSYNC_LOGIN_FAILURES_PER_ADDRESS: '0',
  KOSYNC_LOGIN_FAILURES_PER_USER: '0',
  KOSYNC_LOGIN_DELAY_MAX_MS: '0',
});
const databases = openDatabases(config, { warn: () => {} });
const app = await buildApp(config, { databases });

const timings = new Map<string, number[]>(Object.keys(CASES).map((name) => [name, []]));
for (let round = 0; round < ROUNDS + 3; round++) {
  for (const [name, [user, password]] of Object.entries(CASES)) {
    const authorization = `Basic ${Buffer.from(`${user}:${password}${round}`).toString('base64')}`;
    const started = process.hrtime.bigint();
    const response = await app.inject({ method: 'GET', url: '/kosync/users/auth', headers: { authorization } });
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    if (response.statusCode !== 401) throw new Error(`${name}: expected 401, got ${response.statusCode}`);
    if (round >= 3) timings.get(name)!.push(elapsed); // the first rounds warm up
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
const reference = median(timings.get('wrong password (admin)')!);
console.log(`Failed-login time, median of ${ROUNDS} (ms), against a wrong password:`);
let worst = 0;
for (const [name, values] of timings) {
  const value = median(values);
  const difference = (value - reference) / reference;
  worst = Math.max(worst, Math.abs(difference));
  console.log(`  ${name.padEnd(28)} ${value.toFixed(1).padStart(7)}  ${(difference * 100).toFixed(1).padStart(6)} %`);
}
console.log(`Largest difference: ${(worst * 100).toFixed(1)} % (${worst <= 0.1 ? 'within' : 'OUTSIDE'} 10 %)`);
process.exitCode = worst <= 0.1 ? 0 : 1;
