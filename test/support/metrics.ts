import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';

/** The Prometheus text of an app run with KOSYNC_METRICS=on. */
export async function scrapeMetrics(app: FastifyInstance): Promise<string> {
  const response = await app.inject({ method: 'GET', url: '/kosync/metrics' });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return response.body;
}

/** The value of one series, e.g. `kosync_auth_total{method="basic",outcome="success"}`. */
export function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** How many times a write has found app.db locked and waited: the event a test waits for to know a PUT is waiting. */
export async function lockWaits(app: FastifyInstance): Promise<number> {
  return metricValue(await scrapeMetrics(app), 'kosync_app_db_lock_waits_total') ?? 0;
}
