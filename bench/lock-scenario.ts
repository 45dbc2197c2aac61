import { holdLock } from './lock-holder.js';
import { runLoad, type LoadResult } from './load.js';
import type { Files, Server } from './servers.js';
import { AUTHORIZATION, DOCUMENTS, pushBody, WORKLOADS } from './workload.js';

export interface LockScenarioResult {
  heldMs: number;
  gets: LoadResult;
  puts: { sent: number; ok: number; statuses: number[]; slowestMs: number; lastAfterReleaseMs: number };
}

/**
 * Another process holds app.db's write lock (`BEGIN IMMEDIATE` with a pending change, as Calibre-Web
 * mid-write) for `holdSeconds` while `connections` clients pull with a remembered login and `pushes`
 * PUTs arrive; then it lets go. The PUTs must all complete once it has (the wait budget is 4 s).
 */
export async function lockScenario(
  server: Server,
  files: Files,
  holdSeconds: number,
  connections: number,
  pushes: number,
): Promise<LockScenarioResult> {
  const lock = await holdLock(files.appDb, 'write');
  const heldAt = performance.now();
  const putRequests = Array.from({ length: pushes }, async (_, i) => {
    const sent = performance.now();
    const response = await fetch(`${server.origin}/kosync/syncs/progress`, {
      method: 'PUT',
      headers: { authorization: AUTHORIZATION, 'content-type': 'application/json' },
      body: pushBody(DOCUMENTS[i % DOCUMENTS.length]!, i % 2 === 0),
    });
    await response.arrayBuffer();
    return { status: response.status, sent, done: performance.now() };
  });
  const gets = await runLoad({ origin: server.origin, requests: WORKLOADS.get, connections, durationSeconds: holdSeconds });
  await lock.release();
  const releasedAt = performance.now();
  const answers = await Promise.all(putRequests);
  return {
    heldMs: releasedAt - heldAt,
    gets,
    puts: {
      sent: pushes,
      ok: answers.filter((a) => a.status === 200).length,
      statuses: [...new Set(answers.map((a) => a.status))],
      slowestMs: Math.max(...answers.map((a) => a.done - a.sent)),
      lastAfterReleaseMs: Math.max(...answers.map((a) => a.done)) - releasedAt,
    },
  };
}
