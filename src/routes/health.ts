import type { FastifyPluginAsync } from 'fastify';
import { sendJson } from '../http/json.js';

/** Budget for the health probe's read: a locked app.db answers 503 quickly instead of hanging probes. */
const HEALTH_READ_BUDGET_MS = 1000;

/** `BASE/healthcheck`: OK only when app.db answers a cheap read. */
export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/healthcheck', async (_request, reply) => {
    await app.kosync.appDb.reading((conn) => conn.statement('SELECT 1 FROM user LIMIT 1').get(), HEALTH_READ_BUDGET_MS);
    return sendJson(reply, 200, { state: 'OK' });
  });
};
