import type { FastifyPluginAsync } from 'fastify';
import { KosyncError, PAGE_MESSAGES } from '../errors.js';
import { sendJson } from '../http/json.js';
import { publicBaseUrl } from '../http/public-url.js';

/** `BASE/users/*`: the login check, and KOReader's "Register", which never creates users. */
export const usersRoutes: FastifyPluginAsync = async (app) => {
  // Accounts are Calibre-Web's. 402 is what KOReader shows the message of (docs/UPSTREAM.md#koreader-what-the-client-makes-of-answers).
  app.post('/users/create', async (request) => {
    throw new KosyncError('registrationDisabled', PAGE_MESSAGES.registration(publicBaseUrl(request, app.kosync.config.basePath)));
  });

  // The login check is the sign-in itself.
  await app.register(async (signedIn) => {
    signedIn.addHook('preHandler', app.kosync.signIn);
    signedIn.get('/users/auth', async (_request, reply) => sendJson(reply, 200, { authorized: 'OK' }));
  });
};
