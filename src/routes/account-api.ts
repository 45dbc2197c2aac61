import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { documentJson } from '../account/documents.js';
import { KosyncError } from '../errors.js';
import { sendJson } from '../http/json.js';
import { parseJsonBody } from '../http/request-body.js';
import { signedInUser } from '../http/sign-in.js';
import { isValidDocument } from '../sync/progress-body.js';

/** `POST …/restore`: the history entry's `timestamp` (epoch seconds). */
const restoreBody = z.object({ timestamp: z.number().int().nonnegative() });
/** `PUT …/book`: the Calibre book id. */
const linkBody = z.object({ book_id: z.number().int().positive() });
/** `GET …/books?q=`: words of a title or author. */
const booksQuery = z.object({ q: z.string().trim().min(1).max(200) });

/** A body's field, or 403 code 2003 naming it. */
function parsed<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new KosyncError('invalidFields', `Invalid ${field} field`);
  return result.data;
}

type DocumentParams = { Params: { document: string } };

/**
 * `BASE/api/v1/`: a reader's own documents, their history, restore and manual links, and the library
 * books to link to (docs/PROTOCOL.md §9.5), for the signed-in user: the sync logins or the account
 * page's session, whose writes must come from the page's own site.
 */
export const accountApiRoutes: FastifyPluginAsync = async (app) => {
  const { account } = app.kosync;
  app.addHook('preHandler', app.kosync.accountSignIn);

  const documentOf = (params: { document: string }) => {
    if (!isValidDocument(params.document)) throw new KosyncError('invalidDocument');
    return params.document;
  };

  app.get('/api/v1/documents', async (request, reply) => {
    const documents = await account.documents(signedInUser(request), request.log, request.lockDeadline);
    return sendJson(reply, 200, { documents: documents.map(documentJson) });
  });

  app.get<DocumentParams>('/api/v1/documents/:document/history', async (request, reply) => {
    const history = account.history(signedInUser(request), documentOf(request.params));
    return sendJson(reply, 200, { history });
  });

  app.post<DocumentParams>('/api/v1/documents/:document/restore', async (request, reply) => {
    const document = documentOf(request.params);
    const { timestamp } = parsed(restoreBody, parseJsonBody(request.body), 'timestamp');
    const view = await account.restore(signedInUser(request), document, timestamp, request.log, request.lockDeadline);
    return sendJson(reply, 200, documentJson(view));
  });

  app.put<DocumentParams>('/api/v1/documents/:document/book', async (request, reply) => {
    const document = documentOf(request.params);
    const { book_id: bookId } = parsed(linkBody, parseJsonBody(request.body), 'book_id');
    const view = await account.link(signedInUser(request), document, bookId, request.log, request.lockDeadline);
    return sendJson(reply, 200, documentJson(view));
  });

  app.delete<DocumentParams>('/api/v1/documents/:document/book', async (request, reply) => {
    const view = await account.unlink(signedInUser(request), documentOf(request.params), request.log, request.lockDeadline);
    return sendJson(reply, 200, documentJson(view));
  });

  app.get('/api/v1/books', async (request, reply) => {
    const { q } = parsed(booksQuery, request.query, 'q');
    return sendJson(reply, 200, { books: account.books(q) });
  });
};
