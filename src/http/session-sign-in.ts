import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Sessions } from '../auth/sessions.js';
import { KosyncError } from '../errors.js';
import { isSameOriginPost } from './same-origin.js';

/** The account page's session cookie (docs/PROTOCOL.md §9.4). */
const SESSION_COOKIE = 'kosync_session';

/** The session id of the request's cookie when its signature holds. */
export function sessionIdOf(request: FastifyRequest): string | undefined {
  const raw = request.cookies[SESSION_COOKIE];
  if (!raw) return undefined;
  const unsigned = request.unsignCookie(raw);
  return unsigned.valid && unsigned.value ? unsigned.value : undefined;
}

/** The cookie's attributes: HttpOnly, SameSite=Strict, for BASE alone, Secure when the request came over https. */
function cookieOptions(request: FastifyRequest, basePath: string) {
  return { path: basePath || '/', httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', signed: true } as const;
}

export function setSessionCookie(reply: FastifyReply, request: FastifyRequest, basePath: string, id: string, maxAgeSeconds: number): void {
  reply.setCookie(SESSION_COOKIE, id, { ...cookieOptions(request, basePath), maxAge: maxAgeSeconds });
}

export function clearSessionCookie(reply: FastifyReply, request: FastifyRequest, basePath: string): void {
  reply.clearCookie(SESSION_COOKIE, cookieOptions(request, basePath));
}

/** The signed-in user of a session cookie, or undefined. */
export async function sessionUser(request: FastifyRequest, sessions: Sessions) {
  const id = sessionIdOf(request);
  return id === undefined ? undefined : sessions.userOf(id, request.lockDeadline);
}

/**
 * The account API's sign-in (docs/PROTOCOL.md §9.4): a request with credentials signs in with them
 * through the sync routes' hook, cookie or not; otherwise a live session signs it in, and a write must
 * then come from the page's own site (403 code 2003), the API's defence against cross-site requests
 * riding on the cookie. Without either, the sync hook answers as for any missing login.
 */
export function accountSignInHook(
  signIn: (request: FastifyRequest) => Promise<void>,
  sessions: Sessions,
): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    const { authorization, 'x-auth-user': keyUser } = request.headers;
    const user = authorization === undefined && keyUser === undefined ? await sessionUser(request, sessions) : undefined;
    if (!user) return signIn(request);
    if (request.method !== 'GET' && request.method !== 'HEAD' && !isSameOriginPost(request)) throw new KosyncError('crossSite');
    request.user = user;
  };
}
