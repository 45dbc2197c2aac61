import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testApp } from './support/app.js';
import { freePort, listenOnLoopback } from './support/ports.js';

const run = promisify(execFile);
const root = new URL('../', import.meta.url).pathname;
const dockerfile = readFileSync(`${root}docker/Dockerfile`, 'utf8');
const packageJson = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string };
const stages = dockerfile.split(/^(?=FROM )/m).slice(1);

/** What docker/smoke.sh cannot show without building: the Dockerfile's text, and its HEALTHCHECK command run here. */
describe('docker/Dockerfile', () => {
  it('passes dockerfilelint, but for its misreading of HEALTHCHECK --start-period', async () => {
    // dockerfilelint 1.8 lists --start-period as allowed, then reads option names with /--\w+/, which
    // stops at the hyphen: "--start" is not allowed, so any HEALTHCHECK with a start period is flagged.
    const healthcheckLine = dockerfile.split('\n').findIndex((line) => line.startsWith('HEALTHCHECK ')) + 1;
    const output = await run(`${root}node_modules/.bin/dockerfilelint`, ['-j', 'docker/Dockerfile'], { cwd: root }).then(
      ({ stdout }) => stdout,
      (error: { stdout: string }) => error.stdout,
    );
    expect(JSON.parse(output)).toEqual({
      files: [
        {
          file: 'docker/Dockerfile',
          issues_count: 1,
          issues: [
            {
              line: String(healthcheckLine),
              content: 'HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \\',
              category: 'Possible Bug',
              title: 'Invalid Argument Format',
              description: 'The arguments to this command are invalid',
            },
          ],
        },
      ],
      totalIssues: 1,
    });
  });

  it('builds and runs on one official Node 22 LTS slim image, pinned to an exact release', () => {
    const bases = stages.map((stage) => /^FROM (\S+)/.exec(stage)![1]);
    expect(bases).toHaveLength(2);
    expect(bases[1]).toBe(bases[0]);
    expect(bases[0]).toMatch(/^node:22\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
  });

  it("gives node-gyp the base image's Node headers before npm ci, so nothing is downloaded from nodejs.org", () => {
    const build = stages[0]!;
    expect(build).toMatch(/^ENV npm_config_build_from_source=true \\\n {4}npm_config_nodedir=\/usr\/local \\\n/m);
    expect(build.indexOf('npm_config_nodedir=/usr/local')).toBeLessThan(build.indexOf('RUN npm ci'));
  });

  it('labels the image with the version in package.json, its source, revision and build time', () => {
    const run = stages[1]!;
    expect(run).toContain(`ARG VERSION=${packageJson.version}\n`);
    for (const [label, arg] of [
      ['version', 'VERSION'],
      ['source', 'SOURCE_URL'],
      ['revision', 'REVISION'],
      ['created', 'CREATED'],
    ]) {
      expect(run).toContain(`org.opencontainers.image.${label}="\${${arg}}"`);
    }
  });

  it('sends every file it copies past .dockerignore', () => {
    const ignore = readFileSync(`${root}.dockerignore`, 'utf8');
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(' '));
    expect(copied).toContain('docker/healthcheck.mjs');
    for (const source of copied) expect(ignore).toMatch(new RegExp(`^!${source.replace(/\./g, '\\.')}/?$`, 'm'));
  });

  it('checks health with docker/healthcheck.mjs, after a start period', () => {
    const run = stages[1]!;
    expect(run).toMatch(/^WORKDIR \/app\n(?:.*\n)*COPY docker\/healthcheck\.mjs \.\/\n/m);
    expect(run).toMatch(
      /^HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \\\n {2}CMD \["node", "\/app\/healthcheck\.mjs"\]$/m,
    );
  });
});

describe('docker/compose.yaml', () => {
  it('runs exact releases of Calibre-Web and Caddy, and the sidecar built from this checkout', () => {
    const images = [...readFileSync(`${root}docker/compose.yaml`, 'utf8').matchAll(/^ {4}image: (\S+)$/gm)].map((m) => m[1]);
    expect(images).toHaveLength(3);
    const [calibreWeb, sidecar, caddy] = images;
    // 0.6.27: the Calibre-Web release the sidecar is tested against (../shared/calibre-web).
    expect(calibreWeb).toMatch(/^lscr\.io\/linuxserver\/calibre-web:0\.6\.27-ls\d+$/);
    expect(sidecar).toBe('calibre-web-kosync:local');
    expect(caddy).toMatch(/^caddy:2\.\d+\.\d+$/);
  });
});

describe('docker/healthcheck.mjs, the HEALTHCHECK command', () => {
  const probe = (env: Record<string, string>) =>
    run(process.execPath, [`${root}docker/healthcheck.mjs`], { env: { PATH: process.env.PATH, ...env } }).then(
      () => 0,
      (error: { code: number }) => error.code,
    );

  /** A real server, listening as KOSYNC_HOST/KOSYNC_BASE_PATH say, while `body` runs. */
  async function serving(listen: { host: string; ipv6Only?: boolean }, env: Record<string, string>, body: (port: number) => Promise<void>) {
    const server = await testApp({ env });
    try {
      await server.app.listen({ ...listen, port: 0 });
      await body((server.app.server.address() as { port: number }).port);
    } finally {
      await server.close();
    }
  }

  it('succeeds on the port and base path the server uses, however the path is written', async () => {
    await serving({ host: '0.0.0.0' }, {}, async (port) => {
      expect(await probe({ KOSYNC_PORT: String(port) })).toBe(0);
      expect(await probe({ KOSYNC_PORT: ` ${port} `, KOSYNC_HOST: '0.0.0.0', KOSYNC_BASE_PATH: '//kosync/' })).toBe(0);
      expect(await probe({ KOSYNC_PORT: String(port), KOSYNC_BASE_PATH: '/elsewhere' })).toBe(1);
    });
    await serving({ host: '127.0.0.1' }, { KOSYNC_BASE_PATH: '/' }, async (port) => {
      expect(await probe({ KOSYNC_PORT: String(port), KOSYNC_BASE_PATH: '/' })).toBe(0);
      expect(await probe({ KOSYNC_PORT: String(port) })).toBe(1);
    });
  });

  it('asks the address in KOSYNC_HOST, not always 127.0.0.1', async () => {
    await serving({ host: '127.0.0.2' }, {}, async (port) => {
      expect(await probe({ KOSYNC_PORT: String(port), KOSYNC_HOST: '127.0.0.2' })).toBe(0);
      expect(await probe({ KOSYNC_PORT: String(port) })).toBe(1);
    });
    await serving({ host: '::1' }, {}, async (port) => {
      expect(await probe({ KOSYNC_PORT: String(port), KOSYNC_HOST: '::1' })).toBe(0);
    });
  });

  it('asks loopback over IPv4, then IPv6, when the server listens on ::', async () => {
    await serving({ host: '::' }, {}, async (port) => {
      expect(await probe({ KOSYNC_PORT: String(port), KOSYNC_HOST: '::' })).toBe(0);
    });
    await serving({ host: '::', ipv6Only: true }, {}, async (port) => {
      expect(await probe({ KOSYNC_PORT: String(port), KOSYNC_HOST: '::' })).toBe(0);
      expect(await probe({ KOSYNC_PORT: String(port), KOSYNC_HOST: '0.0.0.0' })).toBe(1);
    });
  });

  it('fails when the server answers otherwise, or nothing listens', async () => {
    await serving({ host: '127.0.0.1' }, {}, async (port) => {
      expect(await probe({ KOSYNC_PORT: String(port), KOSYNC_BASE_PATH: '/kosync/users' })).toBe(1);
    });
    expect(await probe({ KOSYNC_PORT: String(await freePort()) })).toBe(1);
  });

  it('leaves no line in the access log at level info when it passes', async () => {
    const lines: string[] = [];
    const server = await testApp({ env: { KOSYNC_LOG_LEVEL: 'info' }, logStream: { write: (line: string) => void lines.push(line) } });
    try {
      const port = await listenOnLoopback(server.app);
      expect(await probe({ KOSYNC_PORT: String(port) })).toBe(0);
      expect((await fetch(`http://127.0.0.1:${port}/kosync/healthcheck`)).status).toBe(200);
      const access = lines.map((l) => JSON.parse(l) as { msg: string; path: string }).filter((l) => l.msg === 'request');
      expect(access.map((l) => l.path)).toEqual(['/kosync/healthcheck']);
    } finally {
      await server.close();
    }
  });
});
