import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { PasswordVerifier } from '../../src/auth/password-verifier.js';
import { fixedClock, type Clock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { type Databases, openDatabases } from '../../src/databases.js';
import type { Library } from '../../src/library.js';
import { copyFixtures, type FixtureCopy, type FixtureOptions } from './fixtures.js';

/** 2026-11-28 15:21:55.781869 UTC, the moment of the oracle transcript in shared/oracle/README.md. */
export const T0 = 1795879315781869;
/** One second on the microsecond clock. */
export const SECOND = 1_000_000;

/** T0 plus `seconds` as Calibre-Web stores a moment (SQLAlchemy's text form, UTC); `seconds` stays below 5. */
export function storedAt(seconds: number): string {
  return `2026-11-28 15:21:${55 + seconds}.781869`;
}

/** T0 plus `seconds` in whole epoch seconds, as the protocol answers a push. */
export function epochAt(seconds: number): number {
  return Math.floor(T0 / SECOND) + seconds;
}

export interface TestApp {
  app: FastifyInstance;
  files: FixtureCopy;
  databases: Databases;
  /** The library's matcher and scanner as the app uses them; undefined without a library. */
  library: Library | undefined;
  clock: ReturnType<typeof fixedClock>;
  close(): Promise<void>;
}

export interface TestAppOptions extends FixtureOptions {
  env?: Record<string, string>;
  clock?: Clock;
  /** Changes to the temp copies before the app opens them; may return settings that name paths in them. */
  // biome-ignore lint/suspicious/noConfusingVoidType: most preparations only change files and return nothing.
  prepare?: (files: FixtureCopy) => void | Record<string, string>;
  /** Receives the log lines (JSON), e.g. to check what is logged. */
  logStream?: { write(line: string): void };
  /** Wraps the real password check, e.g. to count verifications. */
  verifyPassword?: PasswordVerifier;
  /**
   * Pad failed logins to the slowest hash format, as in production (about 0.4 s with carol's
   * pbkdf2:sha256:1000000). Off otherwise, so tests not about timing are not slowed by it.
   */
  padFailedLogins?: boolean;
}

/** The app over temp copies of the fixtures, with a pinned clock, for `app.inject`. */
export async function testApp(options: TestAppOptions = {}): Promise<TestApp> {
  const files = copyFixtures(options);
  const prepared = options.prepare?.(files);
  const config = loadConfig({
    KOSYNC_APP_DB: files.appDb,
    KOSYNC_STATE_DB: files.stateDb,
    ...(files.library ? { KOSYNC_LIBRARY: files.library } : {}),
    KOSYNC_LOG_LEVEL: 'silent',
    ...options.env,
    ...prepared,
  });
  const clock = fixedClock(T0);
  const databases = openDatabases(config, { warn: () => {} }, options.clock ?? clock);
  const app = await buildApp(config, {
    databases,
    clock: options.clock ?? clock,
    ...(options.logStream ? { logStream: options.logStream } : {}),
    ...(options.verifyPassword ? { verifyPassword: options.verifyPassword } : {}),
    padFailedLogins: options.padFailedLogins ?? false,
  });
  return {
    app,
    files,
    databases,
    library: app.kosync.library,
    clock,
    close: async () => {
      await app.close();
      databases.close();
      files.remove();
    },
  };
}

export function basic(user: string, password: string): { authorization: string } {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}` };
}
