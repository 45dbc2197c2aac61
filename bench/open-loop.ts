import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths.js';

/** One request of a workload. */
export interface OpenLoopRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface OpenLoopOptions {
  origin: string;
  requests: OpenLoopRequest[];
  /** Requests per second, issued on a fixed schedule whatever the answers. */
  rate: number;
  seconds: number;
  /** An answer later than this (from when the request was due) counts as failed. */
  timeoutMs?: number;
  /** Keep-alive connections at most; a request due while all are busy waits for one (and that wait counts). */
  maxConnections?: number;
}

export interface OpenLoopResult {
  sent: number;
  ok: number;
  /** Non-2xx answers, connection errors and timeouts; they count as infinitely slow in the percentiles. */
  errors: number;
  statuses: Record<string, number>;
  /** Milliseconds from when each request was due to the last byte of its answer. */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** How late the client sent requests (its own event loop, the machine), p99 and max in ms. */
  sendLagP99: number;
  sendLagMax: number;
  /** Connections the client opened (it opens one only when all open ones are busy). */
  connections: number;
}

const CLIENT = join(PROJECT_ROOT, 'dist', 'bench', 'open-loop-client.js');

/**
 * Open loop: request i is due at start + i/rate and is sent then, whatever happened to the others;
 * its latency counts from that moment, so a stall of the server is charged to every request that
 * came due during it (no coordinated omission, unlike a closed loop such as autocannon's). The
 * client (bench/open-loop-client.ts) runs in a process of its own, so the bench's heap and
 * collections never delay a send.
 */
export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const child = fork(CLIENT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  const answer = once(child, 'message') as Promise<[OpenLoopResult | { error: string }]>;
  const exit = once(child, 'exit');
  child.send(options);
  const [result] = await Promise.race([answer, exit.then(() => [{ error: 'the open-loop client exited without a result' }] as const)]);
  await exit;
  if ('error' in result) throw new Error(result.error);
  return result;
}
