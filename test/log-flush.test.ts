import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { builtCli } from './support/built-cli.js';
import { startChildServer, type ChildServer } from './support/child-server.js';
import { copyFixtures, type FixtureCopy } from './support/fixtures.js';
import { DAVE } from './support/requests.js';

const FATAL_ON_SIGUSR2 = join(import.meta.dirname, 'support', 'fatal-error-on-sigusr2.mjs');
const REQUESTS = 300;

/** The log is written asynchronously (pino's default destination): what it keeps when the process ends. */
describe('the log when the server process ends', () => {
  let cli: string;
  let files: FixtureCopy | undefined;
  let server: ChildServer | undefined;
  beforeAll(() => {
    cli = builtCli();
  }, 120_000);
  afterEach(async () => {
    if (server?.process.exitCode === null) server.process.kill('SIGKILL');
    await server?.exited;
    files?.remove();
  });

  /** REQUESTS logins, ten at a time (within the per-address connection cap); resolves when all are answered. */
  async function burst(origin: string): Promise<void> {
    const statuses: number[] = [];
    for (let sent = 0; sent < REQUESTS; sent += 10) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(`${origin}/kosync/users/auth`, { headers: DAVE })));
      statuses.push(...answers.map((answer) => answer.status));
    }
    expect(statuses).toEqual(Array(REQUESTS).fill(200));
  }
  const accessLines = () =>
    server!
      .output()
      .split('\n')
      .filter((line) => line.includes('"msg":"request"'));

  it('holds the line of every request answered before SIGTERM, and the last lines of the shutdown', async () => {
    files = copyFixtures({ library: null });
    server = await startChildServer(cli, { KOSYNC_APP_DB: files.appDb, KOSYNC_STATE_DB: files.stateDb });
    await burst(server.origin);
    server.process.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(accessLines()).toHaveLength(REQUESTS);
    expect(server.output().trimEnd().split('\n').at(-1)).toContain('"msg":"databases closed, stopped"');
  });

  it('holds the line of every request answered before a fatal error, and the error', async () => {
    files = copyFixtures({ library: null });
    server = await startChildServer(
      cli,
      { KOSYNC_APP_DB: files.appDb, KOSYNC_STATE_DB: files.stateDb },
      ['serve'],
      [],
      ['--import', FATAL_ON_SIGUSR2],
    );
    await burst(server.origin);
    server.process.kill('SIGUSR2');
    expect(await server.exited).toEqual({ code: 1, signal: null });
    expect(accessLines()).toHaveLength(REQUESTS);
    expect(server.output()).toContain('Error: fatal error injected by the test');
  });
});
