import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Connection } from '../db/query.js';

/** The checksum index tables of the state DB (schema/state/002-checksum-index.sql) whose size is reported. */
const INDEX_TABLES = ['library_files', 'document_ids'] as const;

export type LoginOutcome = 'success' | 'failure' | 'throttled' | 'error';

/** What each series counts, as Prometheus shows it (`# HELP`). */
const HELP = {
  kosync_http_requests_total: 'HTTP requests answered, by route template, method and status',
  kosync_http_request_duration_seconds: 'Time from request to response, by route template',
  kosync_auth_total:
    'Authentication outcomes; method is how a success was decided (basic, key, ldap, proxy, remembered) ' +
    'or the scheme a failed request presented',
  kosync_password_verification_seconds:
    'Time spent checking one password against a Calibre-Web (Werkzeug) hash, by result; ' + "unknown users' decoy checks count as failures",
  kosync_syncs_total: 'Progress pushes and pulls, by whether the document matched a library book',
  kosync_app_db_lock_waits_total: 'Times a write found app.db locked by another process (Calibre-Web, calibre) and waited',
  kosync_checksum_index_rows: "Rows in the sidecar's checksum index, by table (library_files: files seen; document_ids: every id known)",
};

type SeriesName = keyof typeof HELP;

/**
 * Every Prometheus series the sidecar exposes, in a registry of its own (one per app, so tests can
 * build several). Labels are bounded sets: route templates, never raw paths, user names or addresses.
 */
export class KosyncMetrics {
  readonly registry = new Registry();

  readonly requests = this.counter('kosync_http_requests_total', ['route', 'method', 'status']);
  readonly requestDuration = this.histogram(
    'kosync_http_request_duration_seconds',
    ['route'],
    [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
  );
  readonly logins = this.counter('kosync_auth_total', ['method', 'outcome']);
  readonly verification = this.histogram(
    'kosync_password_verification_seconds',
    ['outcome'],
    [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2],
  );
  readonly syncs = this.counter('kosync_syncs_total', ['operation', 'matched']);
  readonly lockWaits = this.counter('kosync_app_db_lock_waits_total', []);

  constructor(stateDb: Connection) {
    new Gauge({
      name: 'kosync_checksum_index_rows',
      help: HELP.kosync_checksum_index_rows,
      labelNames: ['table'] as const,
      registers: [this.registry],
      collect() {
        const present = new Set(
          (stateDb.raw.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name),
        );
        for (const table of INDEX_TABLES) {
          if (!present.has(table)) continue;
          const row = stateDb.raw.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number };
          this.set({ table }, row.n);
        }
      },
    });
  }

  private counter<L extends string>(name: SeriesName, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help: HELP[name], labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(name: SeriesName, labelNames: readonly L[], buckets: number[]): Histogram<L> {
    return new Histogram({ name, help: HELP[name], labelNames, buckets, registers: [this.registry] });
  }

  /** Process CPU, memory, event-loop lag and GC, with the same prefix; only when metrics are served. */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry, prefix: 'kosync_' });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
