import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach } from 'vitest';
import { PROJECT_ROOT } from '../../src/paths.js';
import { basic, type TestApp, type TestAppOptions, testApp } from './app.js';
import { freePort } from './ports.js';

/**
 * Real Calibre-Web 0.6.27 (`../shared/calibre-web`, its README: Debian's python3 packages), run on the
 * same app.db and library as the server under test, for tests where Calibre-Web is the other side.
 */
export const CALIBRE_WEB_SOURCE = join(PROJECT_ROOT, '..', 'shared', 'calibre-web');
const PYTHON = '/usr/bin/python3';
const READY_TIMEOUT_MS = 30_000;

export interface CalibreWeb {
  /** http://127.0.0.1:<port> */
  origin: string;
  process: ChildProcess;
  /** What Calibre-Web printed and logged so far (stdout, stderr, calibre-web.log). */
  output(): string;
  stop(): Promise<void>;
}

export interface CalibreWebOptions {
  appDb: string;
  library: string;
  /** Columns of app.db's `settings` row to set before start (config_port and config_calibre_dir are set). */
  settings?: Record<string, string | number | null>;
  /** The loopback port to listen on (a free one when absent), for a server that must know it beforehand. */
  port?: number;
}

/** What is missing for running Calibre-Web here (../shared/calibre-web and Debian's Python), or undefined. */
export function calibreWebMissing(): string | undefined {
  if (!existsSync(join(CALIBRE_WEB_SOURCE, 'cps.py'))) return `no Calibre-Web source at ${CALIBRE_WEB_SOURCE}`;
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  return undefined;
}

/** Starts Calibre-Web on a free loopback port and resolves once its login page answers. */
export async function startCalibreWeb(options: CalibreWebOptions): Promise<CalibreWeb> {
  const missing = calibreWebMissing();
  if (missing) throw new Error(`cannot run Calibre-Web: ${missing}`);
  const port = options.port ?? (await freePort());
  const db = new Database(options.appDb);
  try {
    const settings = { ...options.settings, config_port: port, config_calibre_dir: options.library };
    const columns = Object.keys(settings);
    db.prepare(`UPDATE settings SET ${columns.map((c) => `${c} = ?`).join(', ')}`).run(
      ...columns.map((c) => settings[c as keyof typeof settings]),
    );
  } finally {
    db.close();
  }
  // Calibre-Web's config folder (its log, gdrive.db) and cache, beside app.db; nothing in the source tree.
  const configDir = join(options.appDb, '..', 'calibre-web');
  mkdirSync(join(configDir, 'cache'), { recursive: true });
  const child = spawn(PYTHON, [join(CALIBRE_WEB_SOURCE, 'cps.py'), '-p', options.appDb, '-i', '127.0.0.1'], {
    env: {
      PATH: process.env.PATH ?? '',
      CALIBRE_DBPATH: configDir,
      CACHE_DIRECTORY: join(configDir, 'cache'),
      PYTHONDONTWRITEBYTECODE: '1',
      LANG: 'C.UTF-8',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let printed = '';
  child.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
  const exited = once(child, 'close');
  const output = () => {
    const log = join(configDir, 'calibre-web.log');
    return `${printed}${existsSync(log) ? readFileSync(log, 'utf8') : ''}`;
  };
  const origin = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Calibre-Web exited (${child.exitCode}) before answering:\n${output()}`);
    try {
      const response = await fetch(`${origin}/login`);
      await response.arrayBuffer();
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Calibre-Web did not answer within ${READY_TIMEOUT_MS / 1000} s:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { origin, process: child, output, stop };
}

/** A logged-in browser session on Calibre-Web's web pages (its login form, CSRF token and cookie). */
export interface WebSession {
  cookie: string;
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/**
 * Logs in through Calibre-Web's own form. Its limiter allows 3 logins a minute per username, so log in
 * once per user and test.
 */
export async function webLogin(origin: string, username: string, password: string): Promise<WebSession> {
  const jar = new Map<string, string>();
  const remember = (response: Response) => {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';', 1);
      const eq = pair.indexOf('=');
      if (eq > 0) jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  };
  const cookie = () => [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
  const page = await fetch(`${origin}/login`);
  remember(page);
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(await page.text())?.[1];
  if (!csrf) throw new Error('Calibre-Web login page without a csrf_token');
  const response = await fetch(`${origin}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password, csrf_token: csrf, remember_me: 'on' }).toString(),
  });
  remember(response);
  await response.arrayBuffer();
  if (response.status !== 302) throw new Error(`Calibre-Web login as ${username} answered ${response.status}`);
  return {
    get cookie() {
      return cookie();
    },
    fetch: async (path, init = {}) => {
      const answer = await fetch(`${origin}${path}`, {
        redirect: 'manual',
        ...init,
        headers: { ...(init.headers as Record<string, string>), cookie: cookie() },
      });
      remember(answer);
      return answer;
    },
  };
}

/** A Kobo sync token for a user, stored as Calibre-Web's kobo_auth.generate_auth_token stores it. */
export function koboToken(appDb: string, userId: number): string {
  const token = randomBytes(16).toString('hex');
  const db = new Database(appDb);
  try {
    db.prepare(
      `INSERT INTO remote_auth_token (auth_token, user_id, verified, expiration, token_type)
       VALUES (?, ?, 0, '9999-12-31 23:59:59.999999', 1)`,
    ).run(token, userId);
  } finally {
    db.close();
  }
  return token;
}

/**
 * Whether Calibre-Web's book page shows the book as read to the session's user: its "Read" checkbox
 * carries the `checked` attribute (detail.html; the `data-checked` label is always there).
 */
export async function shownAsRead(session: WebSession, bookId: number): Promise<boolean> {
  const page = await session.fetch(`/book/${bookId}`);
  if (page.status !== 200) throw new Error(`Calibre-Web's page of book ${bookId} answered ${page.status}`);
  const checkbox = /<input id="have_read_cb"[^>]*>/.exec(await page.text())?.[0];
  if (!checkbox) throw new Error(`Calibre-Web's page of book ${bookId} has no read checkbox`);
  return /\schecked\s*>$/.test(checkbox);
}

/** Calibre-Web's admin, whose pbkdf2 hash Debian's werkzeug checks (web login) and who may download (Kobo sync). */
export const CALIBRE_WEB_ADMIN = { id: 1, name: 'admin', password: 'admin123', basic: basic('admin', 'admin123') } as const;

/** The server under test and real Calibre-Web beside it, on the same app.db and library copies. */
export interface SideBySide {
  t: TestApp;
  calibreWeb: CalibreWeb;
}

/**
 * For a test file whose tests run the server beside real Calibre-Web: `start` opens both (Calibre-Web
 * with `settings` applied to app.db first), and both are stopped after each test.
 */
export function sideBySide(): { start(options?: TestAppOptions, settings?: CalibreWebOptions['settings']): Promise<SideBySide> } {
  let running: Partial<SideBySide> = {};
  afterEach(async () => {
    const { t, calibreWeb } = running;
    running = {};
    await calibreWeb?.stop();
    await t?.close();
  });
  return {
    async start(options = {}, settings = {}) {
      const t = await testApp(options);
      running.t = t;
      running.calibreWeb = await startCalibreWeb({ appDb: t.files.appDb, library: t.files.library!, settings });
      return { t, calibreWeb: running.calibreWeb };
    },
  };
}

/** What Calibre-Web's Kobo sync says of a book's reading state (kobo.py get_kobo_reading_state_response). */
export interface KoboReadingState {
  EntitlementId: string;
  StatusInfo: { Status: string };
  CurrentBookmark: {
    LastModified: string;
    ProgressPercent?: number;
    ContentSourceProgressPercent?: number;
    Location?: { Value: string; Type: string; Source: string };
  };
}

interface KoboSyncEntry {
  NewEntitlement?: { ReadingState?: KoboReadingState };
  ChangedEntitlement?: { ReadingState?: KoboReadingState };
  ChangedReadingState?: { ReadingState: KoboReadingState };
}

/**
 * The reading state Calibre-Web's Kobo sync sends for the book `uuid`, asked as a Kobo with `token`
 * asks it without a sync token (everything it has), or undefined when the sync sends none.
 */
export async function koboSyncReadingState(calibreWeb: CalibreWeb, token: string, uuid: string): Promise<KoboReadingState | undefined> {
  const sync = await fetch(`${calibreWeb.origin}/kobo/${token}/v1/library/sync`);
  if (sync.status !== 200) throw new Error(`Calibre-Web's Kobo sync answered ${sync.status}`);
  const entries = (await sync.json()) as KoboSyncEntry[];
  return entries
    .map((e) => e.NewEntitlement?.ReadingState ?? e.ChangedEntitlement?.ReadingState ?? e.ChangedReadingState?.ReadingState)
    .find((state) => state?.EntitlementId === uuid);
}
