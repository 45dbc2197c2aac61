import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DatabaseBusy, LoginFailed, StorageUnavailable, SyncKeyOutdated, TooManyFailures, VerificationsFull } from '../domain-errors.js';
import { KosyncError, PAGE_MESSAGES } from '../errors.js';
import { sendJson } from './json.js';
import { publicBaseUrl } from './public-url.js';

/** What an answer may say about the request: whether it is a key login, and the page's URL. */
interface Asked {
  request: FastifyRequest;
  basePath: string;
}

type Answer<E> = (error: E, asked: Asked) => KosyncError;
type ErrorClass<E> = abstract new (...args: never[]) => E;

const answer = <E>(type: ErrorClass<E>, answerOf: Answer<E>) => ({ type, answerOf: answerOf as Answer<unknown> });

/** The page's URL as the client reaches it, for messages that send the user there. */
const page = ({ request, basePath }: Asked) => publicBaseUrl(request, basePath);

/** Stock KOReader logs in with x-auth-user and x-auth-key; a Basic login (CWA's plugin, Readest) with Authorization. */
const isKeyLogin = ({ request }: Asked) => request.headers.authorization === undefined && request.headers['x-auth-user'] !== undefined;

/**
 * The protocol's answer to each domain error (src/domain-errors.ts): the one place where what db/ and
 * auth/ report becomes a code, a status and a message. A failed key login says where sync is enabled,
 * as KOReader shows the message on Login; the same text for every failure, so it tells nothing about
 * the account; only the holder of an outdated key learns that it is one.
 */
const DOMAIN_ANSWERS = [
  answer(DatabaseBusy, () => new KosyncError('storageUnavailable')),
  answer(StorageUnavailable, () => new KosyncError('storageUnavailable')),
  answer(VerificationsFull, () => new KosyncError('verificationsFull', undefined, { 'retry-after': '1' })),
  answer(TooManyFailures, (e) => new KosyncError('tooManyAttempts', undefined, { 'retry-after': String(e.retryAfterSeconds) })),
  answer(SyncKeyOutdated, (e, asked) => new KosyncError('unauthorized', PAGE_MESSAGES.outdatedKey(e.reason, page(asked)))),
  answer(LoginFailed, (_e, asked) =>
    isKeyLogin(asked) ? new KosyncError('unauthorized', PAGE_MESSAGES.keyLoginFailed(page(asked))) : new KosyncError('unauthorized'),
  ),
];

/** The answer to an error the sidecar expects (a protocol error or a domain error), or undefined for any other. */
export function expectedAnswer(error: unknown, request: FastifyRequest, basePath: string): KosyncError | undefined {
  if (error instanceof KosyncError) return error;
  return DOMAIN_ANSWERS.find(({ type }) => error instanceof type)?.answerOf(error, { request, basePath });
}

/** Answers an error in the protocol's shape, logging what the client is not told. */
export function answerError(error: unknown, request: FastifyRequest, reply: FastifyReply, basePath: string): FastifyReply {
  if (error instanceof StorageUnavailable) request.log.error({ err: error.cause }, error.detail);
  const expected = expectedAnswer(error, request, basePath);
  if (expected) return sendError(reply, expected);
  if (isClientError(error)) return sendError(reply, clientErrorAnswer(error));
  request.log.error({ err: error }, 'unexpected error');
  return sendError(reply, new KosyncError('internal'));
}

/** fastify's own errors before a route ran (a bad URL, a body over the limit), without logging them. */
export function answerFrameworkError(error: FastifyError, reply: FastifyReply): FastifyReply {
  return sendError(reply, isClientError(error) ? clientErrorAnswer(error) : new KosyncError('internal'));
}

export function sendError(reply: FastifyReply, error: KosyncError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return sendJson(reply, error.status, error.body);
}

function isClientError(error: unknown): error is FastifyError {
  const status = (error as FastifyError).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

function clientErrorAnswer(error: FastifyError): KosyncError {
  if (error.statusCode === 413) return new KosyncError('bodyTooLarge');
  if (error.statusCode === 404) return new KosyncError('notFound');
  return new KosyncError('invalidFields');
}
