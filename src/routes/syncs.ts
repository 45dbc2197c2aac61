import type { FastifyPluginAsync } from 'fastify';
import { KosyncError } from '../errors.js';
import { sendJson } from '../http/json.js';
import { parseJsonBody } from '../http/request-body.js';
import { signedInUser } from '../http/sign-in.js';
import { isValidDocument, problemOf, progressBodySchema } from '../sync/progress-body.js';

/** `BASE/syncs/progress`: push and pull of reading progress (docs/PROTOCOL.md §1, §2 and §4), for a signed-in user. */
export const syncsRoutes: FastifyPluginAsync = async (app) => {
  app.addHook('preHandler', app.kosync.signIn);

  app.put('/syncs/progress', async (request, reply) => {
    const parsed = progressBodySchema.safeParse(parseJsonBody(request.body));
    if (!parsed.success) {
      const problem = problemOf(parsed.error);
      throw new KosyncError(problem.kind, problem.message);
    }
    return sendJson(reply, 200, await app.kosync.progress.put(signedInUser(request), parsed.data, request.log, request.lockDeadline));
  });

  app.get<{ Params: { document: string } }>('/syncs/progress/:document', async (request, reply) => {
    const { document } = request.params;
    if (!isValidDocument(document)) throw new KosyncError('invalidDocument');
    return sendJson(reply, 200, await app.kosync.progress.get(signedInUser(request), document, request.log, request.lockDeadline));
  });

  // A missing document, or one with a `/` in it, is the protocol's 2004, not a missing route.
  const missingDocument = async () => {
    throw new KosyncError('invalidDocument');
  };
  app.get('/syncs/progress', missingDocument);
  app.get('/syncs/progress/*', missingDocument);
};
