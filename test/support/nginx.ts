import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { untilListening } from './server-process.js';
import { missingFile } from './system.js';

/** Debian's nginx-light (installed by .ci/run). */
const NGINX = '/usr/sbin/nginx';
/** The project's nginx recipe. */
export const NGINX_SNIPPET = new URL('../../docker/nginx.conf', import.meta.url).pathname;

export const nginxMissing = () => missingFile(NGINX, 'apt-get install nginx-light; .ci/run does');

export interface Nginx {
  port: number;
  /** Its folder (configuration, logs, temp files). */
  prefix: string;
  stop(): Promise<void>;
}

interface NginxOptions {
  /** The lines of the `server { }` block after `listen` and `server_name`. */
  server: string[];
  /** The sidecar's port, as the recipe's `calibre_web_kosync` upstream. */
  sidecarPort: number;
  serverName: string;
}

/** The recipe with its optional download-tap block switched on (the `#` taken off its lines). */
export function snippetWithDownloadTap(prefix: string): string {
  const text = readFileSync(NGINX_SNIPPET, 'utf8');
  const start = text.indexOf('#location ~ ^/(?:download');
  const end = text.indexOf('\n#}', start) + '\n#}'.length;
  if (start < 0 || end < start) throw new Error(`${NGINX_SNIPPET} has no download-tap block`);
  const block = text.slice(start, end).replace(/^#/gm, '');
  const enabled = text.slice(0, start) + block + text.slice(end);
  const path = join(prefix, 'calibre-web-kosync.conf');
  writeFileSync(path, enabled);
  return path;
}

/** A real nginx on a free loopback port, with `server` lines in one server block; resolves once it accepts connections. */
export async function startNginx(options: NginxOptions & { prefix?: string }): Promise<Nginx> {
  const prefix = options.prefix ?? mkdtempSync(join(tmpdir(), 'kosync-nginx-'));
  const port = await freePort();
  const temp = (name: string) => `${name}_temp_path ${join(prefix, name)};`;
  writeFileSync(
    join(prefix, 'nginx.conf'),
    [
      ...(process.getuid?.() === 0 ? ['user root;'] : []),
      'worker_processes 1;',
      `pid ${join(prefix, 'nginx.pid')};`,
      `error_log ${join(prefix, 'error.log')} warn;`,
      'events { worker_connections 64; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => `  ${temp(name)}`),
      `  upstream calibre_web_kosync { server 127.0.0.1:${options.sidecarPort}; }`,
      '  server {',
      `    listen 127.0.0.1:${port};`,
      `    server_name ${options.serverName};`,
      ...options.server.map((line) => `    ${line}`),
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const nginx = spawn(NGINX, ['-p', prefix, '-e', join(prefix, 'error.log'), '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stop = await untilListening(nginx, {
    name: 'nginx',
    port,
    signal: 'SIGQUIT',
    dir: prefix,
    failureDetails: () => (existsSync(join(prefix, 'error.log')) ? readFileSync(join(prefix, 'error.log'), 'utf8') : ''),
  });
  return { port, prefix, stop };
}
