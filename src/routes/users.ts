import type { FastifyPluginAsync } from 'fastify';
import { KosyncError, PAGE_MESSAGES } from '../errors.js';
import { sendJson } from '../http/json.js';
import { publicBaseUrl } from '../http/public-url.js';

/** `BASE/users/*`: the login check, and KOReader's "Register", which never creates users. */
export const usersRoutes: FastifyPluginAsync = async (app) => {
  app.get('/users/auth', async (request, reply) => {
    await app.kosync.authenticate(request);
    return sendJson(reply, 200, { authorized: 'OK' });
  });

  // Accounts are Calibre-Web's. 402 is what KOReader shows the message of (notes/koreader.md §2.6).
  app.post('/users/create', async (request) => {
    throw new KosyncError('registrationDisabled', PAGE_MESSAGES.registration(publicBaseUrl(request, app.kosync.config.basePath)));
  });
};
