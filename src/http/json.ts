import type { FastifyReply } from 'fastify';

/**
 * Sends compact JSON with `Content-Type: application/json` exactly: KOReader builds since 2025.04
 * (lua-Spore 0.4) decode nothing else, not even with `; charset=utf-8` (PROTOCOL.md §2).
 */
export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  // A Buffer, because fastify appends `; charset=utf-8` to the type of string payloads.
  return reply.code(status).header('content-type', 'application/json').send(Buffer.from(JSON.stringify(body), 'utf8'));
}
