import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { untilListening } from './server-process.js';
import { missingFile } from './system.js';

/** Debian's caddy (installed by .ci/run). */
const CADDY = '/usr/bin/caddy';
/** The project's Caddy recipe, used as is by docker/compose.yaml. */
export const CADDYFILE = new URL('../../docker/Caddyfile', import.meta.url).pathname;

export const caddyMissing = () => missingFile(CADDY, 'apt-get install caddy; .ci/run does');

export interface Caddy {
  port: number;
  stop(): Promise<void>;
}

interface CaddyOptions {
  sidecarPort: number;
  calibreWebPort: number;
  /** Switch on the recipe's optional download-tap block (the `#` taken off `import kosync-downloads`). */
  downloadTap?: boolean;
}

/**
 * A real Caddy on a free loopback port running the recipe unchanged but for its upstreams and site
 * address (the environment variables it reads), without its admin endpoint or automatic HTTPS.
 */
export async function startCaddy(options: CaddyOptions): Promise<Caddy> {
  const dir = mkdtempSync(join(tmpdir(), 'kosync-caddy-'));
  const port = await freePort();
  let recipe = readFileSync(CADDYFILE, 'utf8');
  if (options.downloadTap) {
    if (!recipe.includes('\t# import kosync-downloads\n')) throw new Error(`${CADDYFILE} has no download-tap switch`);
    recipe = recipe.replace('\t# import kosync-downloads\n', '\timport kosync-downloads\n');
  }
  writeFileSync(join(dir, 'recipe.Caddyfile'), recipe);
  writeFileSync(
    join(dir, 'Caddyfile'),
    ['{', '\tadmin off', '\tauto_https off', '\tdefault_bind 127.0.0.1', '}', `import ${join(dir, 'recipe.Caddyfile')}`, ''].join('\n'),
  );
  const caddy = spawn(CADDY, ['run', '--adapter', 'caddyfile', '--config', join(dir, 'Caddyfile')], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      XDG_DATA_HOME: join(dir, 'data'),
      XDG_CONFIG_HOME: join(dir, 'config'),
      SITE_ADDRESS: `:${port}`,
      KOSYNC_UPSTREAM: `127.0.0.1:${options.sidecarPort}`,
      CALIBRE_WEB_UPSTREAM: `127.0.0.1:${options.calibreWebPort}`,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stop = await untilListening(caddy, { name: 'caddy', port, signal: 'SIGTERM', dir });
  return { port, stop };
}
