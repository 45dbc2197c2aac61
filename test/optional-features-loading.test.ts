import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from './support/app.js';
import { builtCli } from './support/built-cli.js';
import { startChildServer } from './support/child-server.js';
import { copyFixtures, type FixtureCopy } from './support/fixtures.js';

const REPORT = join(import.meta.dirname, 'support', 'loaded-packages-report.mjs');
/** What only the download tap (`@fastify/reply-from`, with undici) and the Kobo bridge (`yauzl`, `saxes`) use. */
const OPTIONAL = ['@fastify/reply-from', 'saxes', 'yauzl'];

/** The npm packages a served-then-stopped server imported, from test/support/loaded-packages-report.mjs. */
async function packagesLoaded(cli: string, files: FixtureCopy, env: Record<string, string>): Promise<string[]> {
  const server = await startChildServer(
    cli,
    { KOSYNC_APP_DB: files.appDb, KOSYNC_LIBRARY: files.library!, KOSYNC_STATE_DB: files.stateDb, ...env },
    ['serve'],
    [],
    ['--import', REPORT],
  );
  const health = await fetch(`${server.origin}/kosync/healthcheck`);
  expect(health.status).toBe(200);
  server.process.kill('SIGTERM');
  expect(await server.exited).toEqual({ code: 0, signal: null });
  const line = /^packages (.*)$/m.exec(server.output());
  if (!line) throw new Error(`no package report in:\n${server.output()}`);
  return line[1]!.split(',');
}

describe('optional features are loaded only when they are on', () => {
  let cli: string;
  let files: FixtureCopy;
  beforeAll(() => {
    cli = builtCli();
  }, 120_000);
  afterEach(() => files.remove());

  it('a server with the download tap and the Kobo bridge off imports neither their HTTP client nor their EPUB reader', async () => {
    files = copyFixtures();
    const loaded = await packagesLoaded(cli, files, {});
    expect(loaded).toContain('fastify');
    expect(loaded.filter((name) => OPTIONAL.includes(name))).toEqual([]);
  });

  it("no server imports fastify's JSON-schema compilers (ajv): no route has a JSON schema", async () => {
    files = copyFixtures();
    const loaded = await packagesLoaded(cli, files, { KOSYNC_KOBO_BRIDGE: 'true', KOSYNC_CALIBRE_WEB_URL: 'http://127.0.0.1:9' });
    expect(loaded).toContain('fastify');
    expect(loaded.filter((name) => name === 'ajv' || name.includes('ajv-compiler'))).toEqual([]);
  });

  it('turning them on imports both', async () => {
    files = copyFixtures();
    const loaded = await packagesLoaded(cli, files, { KOSYNC_KOBO_BRIDGE: 'true', KOSYNC_CALIBRE_WEB_URL: 'http://127.0.0.1:9' });
    expect(loaded.filter((name) => OPTIONAL.includes(name))).toEqual(OPTIONAL);
  });
});

describe('a route given a JSON schema', () => {
  it('fails the start with a message naming zod, instead of loading a compiler for it', async () => {
    const { app, close } = await testApp();
    try {
      app.post('/schema-by-mistake', { schema: { body: { type: 'object' } } }, async () => ({}));
      await expect(app.ready()).rejects.toThrow(
        'calibre-web-kosync checks bodies with zod (src/http/request-body.ts); a route was given a JSON schema',
      );
    } finally {
      await close().catch(() => undefined);
    }
  });
});
