import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { openDatabases, type Databases } from '../src/databases.js';
import { formatSqlDatetime } from '../src/db/datetime.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { basic } from './support/app.js';
import { copyFixtures, query, type FixtureCopy } from './support/fixtures.js';
import { BOOK1_EPUB, BOOK1_OLD_EPUB, BOOK2_PDF, BOOK3_EPUB, UNKNOWN_DOC } from './support/requests.js';
import type { FastifyInstance } from 'fastify';
import { freePort } from './support/ports.js';
import { missingCommand, missingFile, skipWithout } from './support/system.js';

/**
 * The same requests against this server and the Python original (shared/oracle: CWA's kosync.py run by
 * Flask), on identical copies of the fixtures; then the rows of all five tables compared.
 */
const ORACLE = join(PROJECT_ROOT, '..', 'shared', 'oracle', 'run.sh');
const noOracle = skipWithout(
  missingFile(ORACLE, 'the Python original is ../shared/oracle beside the checkout') ??
    missingCommand(
      '/usr/bin/python3',
      ['-c', 'import flask, flask_babel, sqlalchemy, werkzeug'],
      'apt-get install ' + 'python3-flask python3-flask-babel python3-sqlalchemy python3-werkzeug; .ci/run does',
    ),
  'the differential test against the Python original',
);

const TABLES = ['kosync_progress', 'book_read_link', 'kobo_reading_state', 'kobo_bookmark', 'kobo_statistics'];
const DATETIME_COLUMNS = new Set(['timestamp', 'last_modified', 'last_time_started_reading', 'priority_timestamp']);
const SQLALCHEMY_DATETIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/;

interface Step {
  method: 'GET' | 'PUT';
  path: string;
  user: [string, string];
  body?: unknown;
}

const push = (user: [string, string], document: string, percentage: unknown, extra: Record<string, unknown> = {}): Step => ({
  method: 'PUT',
  path: '/kosync/syncs/progress',
  user,
  body: {
    document,
    progress: `/body/DocFragment[4]/body/p[${String(percentage)}]`,
    percentage,
    device: 'KOReader',
    device_id: 'dev-1',
    ...extra,
  },
});
const pull = (user: [string, string], document: string): Step => ({ method: 'GET', path: `/kosync/syncs/progress/${document}`, user });

const DAVE: [string, string] = ['dave', 'oldtimer'];
const ERIN: [string, string] = ['erin', 'legacy'];
const CAROL: [string, string] = ['carol', 'pässwörd ✓'];

const STEPS: Step[] = [
  { method: 'GET', path: '/kosync/users/auth', user: DAVE },
  { method: 'GET', path: '/kosync/users/auth', user: ['dave', 'wrong'] },
  push(DAVE, BOOK1_EPUB, 0.25),
  pull(DAVE, BOOK1_EPUB),
  push(DAVE, BOOK1_EPUB, 0.995),
  push(DAVE, BOOK1_EPUB, 0.995),
  push(DAVE, BOOK1_OLD_EPUB, 0.5, { device: 'Kobo Libra 2', device_id: 'dev-2' }),
  push(DAVE, BOOK1_EPUB, 0.4),
  pull(DAVE, BOOK1_EPUB),
  push(CAROL, BOOK2_PDF, 0.07, { device_id: undefined }),
  push(CAROL, BOOK3_EPUB, 1),
  push(CAROL, UNKNOWN_DOC, 0),
  push(CAROL, BOOK3_EPUB, '0.25'),
  push(ERIN, BOOK1_EPUB, 0),
  push(ERIN, BOOK1_EPUB, 1.5),
  push(ERIN, BOOK1_EPUB, 50),
  pull(ERIN, BOOK1_EPUB),
  pull(ERIN, BOOK2_PDF),
  pull(CAROL, BOOK2_PDF),
  push(DAVE, 'd'.repeat(255), 0.1),
  push(DAVE, 'd'.repeat(256), 0.1),
  push(DAVE, 'a:b', 0.5),
  push(DAVE, BOOK1_EPUB, 150),
  push(DAVE, BOOK1_EPUB, -0.5),
  push(DAVE, BOOK1_EPUB, 0.5, { device: undefined }),
  push(DAVE, BOOK1_EPUB, 0.5, { progress: 'p'.repeat(256) }),
  push(DAVE, BOOK1_EPUB, 0.5, { device: 'v'.repeat(101) }),
  push(DAVE, BOOK1_EPUB, 0.5, { device_id: 'i'.repeat(101) }),
  push(['dave', 'wrong'], BOOK1_EPUB, 0.5),
];

/** Our statuses for the original's 400s, per docs/PROTOCOL.md §6's error table. */
const STATUS_FOR_CODE: Record<number, number> = { 2001: 401, 2003: 403, 2004: 403 };

interface Outcome {
  status: number;
  body: Record<string, unknown>;
  /** SQLAlchemy-format times just before the request and just after its answer. */
  window: [string, string];
}

const now = () => formatSqlDatetime(systemClock.nowMicros());

describe.skipIf(noOracle)('the same requests against this server and the Python original', () => {
  let oracleFiles: FixtureCopy;
  let ourFiles: FixtureCopy;
  let oracle: ChildProcess;
  let oracleUrl: string;
  let app: FastifyInstance;
  let databases: Databases;
  const oracleOutcomes: Outcome[] = [];
  const ourOutcomes: Outcome[] = [];

  beforeAll(async () => {
    oracleFiles = copyFixtures();
    ourFiles = copyFixtures();
    const port = await freePort();
    oracle = spawn(
      ORACLE,
      ['--app-db', oracleFiles.appDb, '--metadata-db', join(oracleFiles.library!, 'metadata.db'), '--port', String(port)],
      {
        env: { ...process.env, TZ: 'UTC' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the oracle did not print READY within 30 s')), 30_000);
      oracle.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('READY')) {
          clearTimeout(timer);
          resolve();
        }
      });
      oracle.once('exit', (code) => reject(new Error(`the oracle exited with ${code}`)));
    });
    oracleUrl = `http://127.0.0.1:${port}`;

    const config = loadConfig({
      KOSYNC_APP_DB: ourFiles.appDb,
      KOSYNC_LIBRARY: ourFiles.library,
      KOSYNC_STATE_DB: ourFiles.stateDb,
      KOSYNC_LOG_LEVEL: 'silent',
      // The original answers a pull with that document's own row only.
      KOSYNC_SHARE_PROGRESS_ACROSS_FILES: 'false',
    });
    databases = openDatabases(config, { warn: () => {} });
    app = await buildApp(config, { databases });

    for (const step of STEPS) {
      const headers = { ...basic(...step.user), ...(step.body ? { 'content-type': 'application/json' } : {}) };
      const payload = step.body === undefined ? undefined : JSON.stringify(step.body);
      let before = now();
      const response = await fetch(`${oracleUrl}${step.path}`, { method: step.method, headers, ...(payload ? { body: payload } : {}) });
      oracleOutcomes.push({ status: response.status, body: (await response.json()) as Record<string, unknown>, window: [before, now()] });
      before = now();
      const ours = await app.inject({ method: step.method, url: step.path, headers, ...(payload ? { payload } : {}) });
      ourOutcomes.push({ status: ours.statusCode, body: JSON.parse(ours.body) as Record<string, unknown>, window: [before, now()] });
    }
  }, 120_000);

  afterAll(async () => {
    oracle?.kill('SIGTERM');
    await app?.close();
    databases?.close();
    oracleFiles?.remove();
    ourFiles?.remove();
  });

  it('answers every request alike: same bodies on success, same error code and message on failure', () => {
    STEPS.forEach((step, i) => {
      const theirs = oracleOutcomes[i]!;
      const ours = ourOutcomes[i]!;
      const label = `${step.method} ${step.path} ${JSON.stringify(step.body ?? '')}`;
      if (theirs.status === 200) {
        expect(ours.status, label).toBe(200);
        expect(comparable(ours.body), label).toEqual(comparable(theirs.body));
        // A push answers with the time it wrote; a pull with the time of an earlier push.
        const first = (outcomes: Outcome[]) => outcomes[0]!.window[0];
        for (const [outcome, all] of [
          [ours, ourOutcomes],
          [theirs, oracleOutcomes],
        ] as const) {
          if (!('timestamp' in outcome.body)) continue;
          const window: [string, string] = step.method === 'PUT' ? outcome.window : [first(all), outcome.window[1]];
          expect(withinWindow(outcome.body.timestamp as number, window), label).toBe(true);
        }
      } else {
        const code = theirs.body.error as number;
        expect(ours.status, label).toBe(theirs.status === 401 ? 401 : STATUS_FOR_CODE[code]);
        expect(ours.body, label).toEqual({ code, message: theirs.body.message });
      }
    });
  });

  it.each(TABLES)('leaves the same rows in %s (datetimes by format and by the request that wrote them)', (table) => {
    const theirs = normalisedRows(oracleFiles.appDb, table, oracleOutcomes);
    const ours = normalisedRows(ourFiles.appDb, table, ourOutcomes);
    expect(ours).toEqual(theirs);
    expect(ours.length).toBeGreaterThan(0);
  });
});

/** The original sends `device_id: null` where we leave it out, and its own timestamps. */
function comparable(body: Record<string, unknown>): Record<string, unknown> {
  const { timestamp: _timestamp, ...rest } = body;
  if (rest.device_id === null) delete rest.device_id;
  return rest;
}

function withinWindow(epochSeconds: number, [from, to]: [string, string]): boolean {
  const toSeconds = (text: string) => Math.floor(Date.parse(`${text.slice(0, 19).replace(' ', 'T')}Z`) / 1000);
  return epochSeconds >= toSeconds(from) && epochSeconds <= toSeconds(to);
}

/** Rows with each datetime replaced by the index of the request during which it was written. */
function normalisedRows(path: string, table: string, outcomes: Outcome[]): Record<string, unknown>[] {
  return query(path, `SELECT * FROM ${table} ORDER BY id`).map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([column, value]) => {
        if (!DATETIME_COLUMNS.has(column) || value === null) return [column, value];
        expect(value, `${table}.${column}`).toMatch(SQLALCHEMY_DATETIME);
        const step = outcomes.findIndex(({ window: [from, to] }) => (value as string) >= from && (value as string) <= to);
        return [column, `written by request ${step}`];
      }),
    ),
  );
}
