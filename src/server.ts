import type { FastifyInstance } from 'fastify';
import pretty from 'pino-pretty';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { openDatabases } from './databases.js';
import { DEMO_USER, prepareDemo, type DemoData } from './demo.js';

export const DEMO_DIR = 'demo-data';
/** How long a stop waits for requests in flight before closing anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface ServeOptions {
  demo: boolean;
}

/** Opens the databases, listens, and serves until SIGTERM/SIGINT; resolves to the exit code. */
export async function startServer(config: Config, options: ServeOptions): Promise<number> {
  let demo: DemoData | undefined;
  if (options.demo) {
    demo = await prepareDemo(DEMO_DIR);
    config = Object.freeze({ ...config, appDb: demo.appDb, library: demo.library, stateDb: undefined });
  }
  const warnings: string[] = [];
  const databases = openDatabases(config, { warn: (m) => warnings.push(m) });
  let app: FastifyInstance;
  try {
    app = await buildApp(config, { databases, ...(process.stdout.isTTY ? { logStream: pretty({ colorize: true }) } : {}) });
  } catch (error) {
    databases.close();
    throw error;
  }
  for (const warning of warnings) app.log.warn(warning);
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close();
    databases.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  if (demo) process.stdout.write(demoBanner(demo, `http://localhost:${port}${config.basePath}`));

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      app.log.info({ signal }, 'shutting down');
      const force = setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      force.unref();
      app
        .close()
        .catch((error: unknown) => app.log.error({ err: error }, 'error while closing'))
        .finally(() => {
          clearTimeout(force);
          databases.close();
          resolve(0);
        });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

function demoBanner(demo: DemoData, url: string): string {
  const line = '='.repeat(72);
  const book = demo.books[0]!;
  return [
    '',
    line,
    '  DEMO MODE: KOSYNC_APP_DB is not set, so this server runs on throwaway',
    `  demo data in ${demo.dir}. Nothing of a real Calibre-Web is touched.`,
    line,
    `  Server URL:   ${url}`,
    `  Username:     ${DEMO_USER.name}`,
    `  Password:     ${DEMO_USER.password}`,
    `  Books:        ${demo.books.map((b) => `"${b.title}" (${b.checksum})`).join(', ')}`,
    '',
    '  Try it:',
    `    curl -u ${DEMO_USER.name}:${DEMO_USER.password} ${url}/users/auth`,
    `    curl -u ${DEMO_USER.name}:${DEMO_USER.password} -X PUT -H 'Content-Type: application/json' \\`,
    `      -d '{"document":"${book.checksum}","progress":"1","percentage":0.5,"device":"curl"}' \\`,
    `      ${url}/syncs/progress`,
    `    curl -u ${DEMO_USER.name}:${DEMO_USER.password} ${url}/syncs/progress/${book.checksum}`,
    '',
    '  To serve a real Calibre-Web, set KOSYNC_APP_DB (see README.md).',
    line,
    '',
  ].join('\n');
}
