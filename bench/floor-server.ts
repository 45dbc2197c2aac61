/**
 * The floor of the open-loop bench: the project's own fastify answering the GET route's URL with a
 * constant JSON body (what a warm pull answers, same headers), no logger, no database. Whatever this
 * costs at a given rate is HTTP, node and the machine; the sidecar's latency above it is its own.
 *
 *   FLOOR_PORT=<port> node dist/bench/floor-server.js
 */
import fastify from 'fastify';

const BODY = Buffer.from(
  JSON.stringify({
    document: 'e1dbc3a8ba7a76e2bc720bd6815715b0',
    progress: '/body/DocFragment[12]/body/p[3]/text().17',
    percentage: 0.42,
    device: 'KOReader',
    device_id: 'BENCH0000000000000000000000000000',
    timestamp: 1_700_000_000,
  }),
);

const app = fastify({ logger: false, keepAliveTimeout: 65_000 });
const answer = async (_request: unknown, reply: import('fastify').FastifyReply) =>
  reply.header('content-type', 'application/json').header('cache-control', 'no-store').send(BODY);
app.get('/kosync/syncs/progress/:document', answer);
app.get('/kosync/healthcheck', answer);

const stop = () => {
  app.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
await app.listen({ host: '127.0.0.1', port: Number(process.env.FLOOR_PORT) });
