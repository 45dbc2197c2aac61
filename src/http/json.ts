import type { FastifyReply } from 'fastify';

/**
 * Sends compact JSON with `Content-Type: application/json` exactly (docs/PROTOCOL.md §2.1), the one type
 * every KOReader build's JSON middleware decodes
 * (docs/UPSTREAM.md#koreader-what-the-client-makes-of-answers). `Cache-Control: no-store` on every
 * answer: most carry a user's reading progress or the outcome of their login, which no shared or browser
 * cache may keep, and the rest (health, errors) must never be answered from a cache either.
 */
export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  // A Buffer, because fastify appends `; charset=utf-8` to the type of string payloads.
  return reply
    .code(status)
    .header('content-type', 'application/json')
    .header('cache-control', 'no-store')
    .send(Buffer.from(JSON.stringify(body), 'utf8'));
}
