import autocannon, { type Request } from 'autocannon';

export interface LoadOptions {
  origin: string;
  requests: Request[];
  connections: number;
  durationSeconds: number;
  /** Seconds before an answer counts as a timeout (the Python original needs long ones under load). */
  timeoutSeconds?: number;
}

export interface LoadResult {
  /** Answers with a 2xx status per second of the run. */
  rate: number;
  ok: number;
  /** Non-2xx answers, connection errors and timeouts. */
  errors: number;
  statuses: Record<string, number>;
  /** Milliseconds, of 2xx answers, exact (autocannon's own histogram rounds to whole ms). */
  p50: number;
  p99: number;
  max: number;
}

/** `connections` clients each sending the next of `requests` as soon as its previous answer came. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const instance = autocannon({
    url: options.origin,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: options.timeoutSeconds ?? 10,
    requests: options.requests,
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await instance;
  latencies.sort((a, b) => a - b);
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats).map(([status, { count }]) => [status, count]));
  return {
    rate: latencies.length / result.duration,
    ok: latencies.length,
    errors: result.non2xx + result.errors + result.timeouts,
    statuses,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: latencies.at(-1) ?? Number.NaN,
  };
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
