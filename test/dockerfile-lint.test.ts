import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from './support/app.js';

const run = promisify(execFile);
const root = new URL('../', import.meta.url).pathname;
const dockerfile = readFileSync(`${root}docker/Dockerfile`, 'utf8');
const packageJson = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string };

/** The image cannot be built here (no container engine); these check what can be checked without one. */
describe('docker/Dockerfile', () => {
  it('passes dockerfilelint', async () => {
    const { stdout } = await run(`${root}node_modules/.bin/dockerfilelint`, ['-j', 'docker/Dockerfile'], { cwd: root });
    expect(JSON.parse(stdout)).toEqual({ files: [{ file: 'docker/Dockerfile', issues_count: 0, issues: [] }], totalIssues: 0 });
  });

  it('builds and runs on one Node base pinned to an exact release', () => {
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(bases).toHaveLength(2);
    expect(bases[0]).toMatch(/^node:\d+\.\d+\.\d+-bookworm-slim$/);
    expect(bases[1]).toBe(bases[0]);
  });

  it('labels the image with the version in package.json', () => {
    expect(dockerfile).toContain(`ARG VERSION=${packageJson.version}\n`);
  });

  it('sends every file it copies past .dockerignore', () => {
    const ignore = readFileSync(`${root}.dockerignore`, 'utf8');
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(' '));
    expect(copied.length).toBeGreaterThan(0);
    for (const source of copied) expect(ignore).toMatch(new RegExp(`^!${source.replace(/\./g, '\\.')}/?$`, 'm'));
  });

  describe('its HEALTHCHECK command', () => {
    let server: TestApp;
    let port: number;
    const healthcheck = JSON.parse(/^ {2}CMD (\[.*\])$/m.exec(dockerfile.slice(dockerfile.indexOf('HEALTHCHECK')))![1]!) as string[];

    beforeAll(async () => {
      server = await testApp();
      await server.app.listen({ host: '127.0.0.1', port: 0 });
      port = (server.app.server.address() as { port: number }).port;
    });
    afterAll(() => server?.close());

    const probe = (env: Record<string, string>) =>
      run(process.execPath, healthcheck.slice(1), { env: { PATH: process.env.PATH, ...env } }).then(
        () => 0,
        (error: { code: number }) => error.code,
      );

    it('succeeds against a running server, on its port and base path', async () => {
      expect(healthcheck[0]).toBe('node');
      expect(await probe({ KOSYNC_PORT: String(port) })).toBe(0);
      expect(await probe({ KOSYNC_PORT: String(port), KOSYNC_BASE_PATH: '/kosync/' })).toBe(0);
    });

    it('fails when the server answers otherwise or not at all', async () => {
      expect(await probe({ KOSYNC_PORT: String(port), KOSYNC_BASE_PATH: '/elsewhere' })).toBe(1);
      await server.app.close();
      expect(await probe({ KOSYNC_PORT: String(port) })).toBe(1);
    });
  });
});

describe('docker/entrypoint.sh', () => {
  it.skipIf(process.getuid?.() !== 0)('refuses a PUID or PGID that is not a number', async () => {
    const result = await run('sh', [`${root}docker/entrypoint.sh`, 'serve'], { env: { PATH: process.env.PATH, PUID: 'abc', PGID: '1000' } }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('calibre-web-kosync: PUID and PGID must be numeric ids (got PUID=abc PGID=1000)\n');
  });
});
