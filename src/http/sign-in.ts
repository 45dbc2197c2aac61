import type { FastifyRequest } from 'fastify';
import type { AuthMethod, Authenticator } from '../auth/authenticator.js';
import { readCredentials } from '../auth/credentials.js';
import type { UserRow } from '../repos/users.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the request signed in as: set by its route family's sign-in hook, null on routes without one. */
    user: UserRow | null;
  }
}

/** Told of every sign-in's outcome (metrics): how it succeeded, or the scheme presented and why it failed. */
export interface SignInObserver {
  succeeded(method: AuthMethod): void;
  failed(scheme: 'basic' | 'key' | 'none', error: unknown): void;
}

/**
 * The one way into the protocol's routes: a `preHandler` each route family that needs a user adds for
 * its routes. It authenticates the request (reverse-proxy header, HTTP Basic or a stock-KOReader key),
 * sets `request.user`, and reports the outcome; a failure is thrown as the authenticator's domain
 * error, which the error handler answers (src/http/error-answers.ts). The page's sign-in form uses the
 * authenticator's credentials path instead, as it reads the credentials from its body.
 */
export function signInHook(authenticator: Authenticator, observer: SignInObserver): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    try {
      const { user, method } = await authenticator.authenticate(
        request.headers,
        request.ip,
        request.socket.remoteAddress,
        request.lockDeadline,
      );
      request.user = user;
      observer.succeeded(method);
    } catch (error) {
      observer.failed(readCredentials(request.headers)?.scheme ?? 'none', error);
      throw error;
    }
  };
}

/** The user the route family's sign-in hook set; only for routes behind it. */
export function signedInUser(request: FastifyRequest): UserRow {
  if (!request.user) throw new Error(`route ${request.routeOptions.url} has no sign-in hook`);
  return request.user;
}
