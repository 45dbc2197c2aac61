import type { FastifyPluginAsync } from 'fastify';
import { sendJson } from '../http/json.js';

/** Budget for the health probe's read: a locked app.db answers 503 quickly instead of hanging probes. */
const HEALTH_READ_BUDGET_MS = 1000;

/**
 * `BASE/healthcheck`: OK only when a usable app.db is at its path and answers a cheap read, and no
 * write has failed since the last one that committed (else a probe write must pass); 503/1000 otherwise.
 */
export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/healthcheck', async (_request, reply) => {
    await app.kosync.appDb.checkHealth(HEALTH_READ_BUDGET_MS);
    return sendJson(reply, 200, { state: 'OK' });
  });
};
