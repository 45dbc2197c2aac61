/**
 * The open-loop client (bench/open-loop.ts forks it and sends it its OpenLoopOptions): keep-alive
 * HTTP/1.1 connections written to and read from directly, requests serialised once, so that a
 * request costs the client a socket write and a small parse and its own collections stay
 * negligible. Answers must carry Content-Length (fastify's always do here).
 */
import { connect, type Socket } from 'node:net';
import type { OpenLoopOptions, OpenLoopResult } from './open-loop.js';

const HEADER_END = Buffer.from('\r\n\r\n');

interface Pending {
  index: number;
  due: number;
}

class Connection {
  readonly socket: Socket;
  pending: Pending | undefined;
  private chunks: Buffer[] = [];
  private received = 0;
  private expected = -1;
  private status = 0;

  constructor(
    host: string,
    port: number,
    private readonly onAnswer: (connection: Connection, pending: Pending, status: number) => void,
    private readonly onLost: (connection: Connection) => void,
  ) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk) => this.read(chunk));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => this.onLost(this));
  }

  send(pending: Pending, bytes: Buffer): void {
    this.pending = pending;
    this.socket.write(bytes);
  }

  private read(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.received += chunk.length;
    if (this.expected < 0) {
      const all = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks);
      const end = all.indexOf(HEADER_END);
      if (end < 0) return;
      const head = all.toString('latin1', 0, end);
      this.status = Number(head.slice(9, 12));
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!length) {
        this.socket.destroy();
        return;
      }
      this.expected = end + HEADER_END.length + Number(length[1]);
    }
    if (this.received < this.expected) return;
    const pending = this.pending!;
    this.pending = undefined;
    this.chunks = [];
    this.received = 0;
    this.expected = -1;
    this.onAnswer(this, pending, this.status);
  }
}

function run(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const url = new URL(options.origin);
  const host = url.hostname;
  const port = Number(url.port);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxConnections = options.maxConnections ?? 64;
  const requests = options.requests.map((r) => {
    const body = r.body === undefined ? undefined : Buffer.from(r.body);
    const headers = { host: url.host, ...r.headers, ...(body ? { 'content-length': String(body.length) } : {}) };
    const head = `${r.method} ${r.path} HTTP/1.1\r\n${Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('')}\r\n`;
    return body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
  });
  const total = Math.round(options.rate * options.seconds);
  const intervalMs = 1000 / options.rate;
  const latencies = new Float64Array(total).fill(Number.POSITIVE_INFINITY);
  const sendLags = new Float64Array(total);
  const statuses: Record<string, number> = {};
  const count = (label: string | number) => {
    statuses[label] = (statuses[label] ?? 0) + 1;
  };
  const idle: Connection[] = [];
  const open = new Set<Connection>();
  const queue: Pending[] = [];
  let opened = 0;
  let settled = 0;
  let ok = 0;

  return new Promise((resolve) => {
    const settle = () => {
      if (++settled < total) return;
      clearInterval(reaper);
      for (const connection of open) connection.socket.destroy();
      resolve(summary());
    };
    const dispatch = (connection: Connection, pending: Pending) => {
      sendLags[pending.index] = performance.now() - pending.due;
      connection.send(pending, requests[pending.index % requests.length]!);
    };
    const onAnswer = (connection: Connection, pending: Pending, status: number) => {
      const latency = performance.now() - pending.due;
      count(status);
      if (status >= 200 && status < 300 && latency <= timeoutMs) {
        latencies[pending.index] = latency;
        ok++;
      }
      const next = queue.shift();
      if (next) dispatch(connection, next);
      else idle.push(connection);
      settle();
    };
    const onLost = (connection: Connection) => {
      open.delete(connection);
      const at = idle.indexOf(connection);
      if (at >= 0) idle.splice(at, 1);
      if (connection.pending) {
        count('error');
        connection.pending = undefined;
        settle();
      }
      const next = queue.shift();
      if (next) submit(next);
    };
    const submit = (pending: Pending) => {
      const connection = idle.pop();
      if (connection) return dispatch(connection, pending);
      if (open.size < maxConnections) {
        const fresh = new Connection(host, port, onAnswer, onLost);
        open.add(fresh);
        opened++;
        return dispatch(fresh, pending);
      }
      queue.push(pending);
    };
    // Answers that never come: their connection is closed and they count as timed out.
    const reaper = setInterval(() => {
      const now = performance.now();
      for (const connection of open) {
        if (connection.pending && now - connection.pending.due > timeoutMs) {
          count('timeout');
          connection.pending = undefined;
          settle();
          connection.socket.destroy();
        }
      }
    }, 100);

    const start = performance.now() + 20;
    let next = 0;
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * intervalMs <= now) {
        submit({ index: next, due: start + next * intervalMs });
        next++;
      }
      if (next < total) setTimeout(tick, Math.max(0, start + next * intervalMs - performance.now()));
    };
    setTimeout(tick, 20);
  });

  function summary(): OpenLoopResult {
    const sorted = latencies.sort();
    const lags = sendLags.sort();
    return {
      sent: total,
      ok,
      errors: total - ok,
      statuses,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      p999: quantile(sorted, 0.999),
      max: sorted[total - 1] ?? Number.NaN,
      sendLagP99: quantile(lags, 0.99),
      sendLagMax: lags[total - 1] ?? Number.NaN,
      connections: opened,
    };
  }
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

process.once('message', (options: OpenLoopOptions) => {
  run(options).then(
    (result) => process.send!(result, () => process.disconnect()),
    (error: unknown) => process.send!({ error: String(error) }, () => process.disconnect()),
  );
});
