import type { FastifyServerOptions } from 'fastify';

function refuseJsonSchema(): never {
  throw new Error('calibre-web-kosync checks bodies with zod (src/http/request-body.ts); a route was given a JSON schema');
}

/**
 * No route has a JSON schema: bodies are parsed with zod and answers are written as bytes
 * (`json.ts`). Without this fastify loads ajv and fast-json-stringify at start, ~450 modules and
 * ~3 MiB resident (BENCHMARKS.md, issue 17), for compilers it never calls; a schema given by
 * mistake fails at start instead of being compiled.
 */
export const NO_JSON_SCHEMAS: NonNullable<FastifyServerOptions['schemaController']> = {
  compilersFactory: { buildValidator: refuseJsonSchema, buildSerializer: refuseJsonSchema },
};
