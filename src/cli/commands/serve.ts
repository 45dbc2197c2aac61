import { startServer } from '../../server.js';
import type { Command } from '../command.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the sync server (the default; a demo when KOSYNC_APP_DB is not set)',
  usage: 'serve [options]',
  run: async ({ config }) => startServer(config, { demo: config.appDb === undefined }),
};

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the server on throwaway demo data in ./demo-data (user demo, password demo)',
  usage: 'demo [options]',
  run: async ({ config }) => startServer(config, { demo: true }),
};
