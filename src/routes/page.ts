import type { FastifyPluginAsync } from 'fastify';
import { publicBaseUrl } from '../http/public-url.js';
import { escapeHtml } from '../http/html.js';

/** `BASE`: the page people open in a browser to set up their reader. */
export const pageRoutes: FastifyPluginAsync = async (app) => {
  app.get('/', async (request, reply) => {
    const url = escapeHtml(publicBaseUrl(request, app.kosync.config.basePath));
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>KOReader sync for Calibre-Web</title></head>` +
          `<body><h1>KOReader sync for Calibre-Web</h1><p>Server URL: <code>${url}</code></p></body></html>`,
      );
  });
};
