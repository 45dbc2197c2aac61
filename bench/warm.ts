import type { Server } from './servers.js';
import { AUTHORIZATION, DOCUMENTS, pushBody } from './workload.js';

/** One login and one push per document, so pulls are warm: login remembered, rows present. */
export async function warm(server: Server): Promise<void> {
  const auth = await fetch(`${server.origin}/kosync/users/auth`, { headers: { authorization: AUTHORIZATION } });
  if (auth.status !== 200) throw new Error(`login as admin failed on ${server.origin}: ${auth.status}`);
  for (const document of DOCUMENTS) {
    const response = await fetch(`${server.origin}/kosync/syncs/progress`, {
      method: 'PUT',
      headers: { authorization: AUTHORIZATION, 'content-type': 'application/json' },
      body: pushBody(document, false),
    });
    if (response.status !== 200) throw new Error(`warm-up push failed on ${server.origin}: ${response.status}`);
  }
}
