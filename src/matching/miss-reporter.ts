import type { Clock } from '../clock.js';
import { formatSqlDatetime } from '../db/datetime.js';
import type { StateDb } from '../db/state-db.js';
import { recordUnmatched } from '../repos/unmatched-documents.js';
import { LruCache } from '../util/lru-cache.js';
import type { DocumentHints } from './book-matcher.js';
import type { MissExplainer, MissReason } from './explain.js';

/** (user, document) pairs remembered; the least recently used are forgotten first (and may be logged again). */
const REMEMBERED = 10_000;
/** A pair already explained is examined again at most this often, in case the reason changed. */
const RECHECK_MS = 60_000;

interface Reported {
  reason: MissReason;
  hints: string;
  checkedAt: number;
}

interface MissLog {
  info(obj: object, message: string): void;
}

/**
 * Says in the log why a push matched no book, once per user and document (again only when the
 * reason or the metadata sent changes), and keeps the push with its metadata in the state DB so that
 * `checksums find` explains it the same way later.
 */
export class MissReporter {
  private readonly reported: LruCache<string, Reported>;

  constructor(
    private readonly deps: { explainer: MissExplainer; state: StateDb; clock: Clock },
    maxEntries = REMEMBERED,
  ) {
    this.reported = new LruCache({ maxEntries });
  }

  report(user: { id: number; name: string | null }, document: string, hints: DocumentHints | undefined, log: MissLog): void {
    const key = `${user.id}\0${document}`;
    const sent = JSON.stringify(hints ?? {});
    const now = this.deps.clock.monotonicMs();
    const before = this.reported.get(key);
    if (before && before.hints === sent && now - before.checkedAt < RECHECK_MS) return;
    const explanation = this.deps.explainer.explain(document, { userId: user.id, hints });
    this.reported.set(key, { reason: explanation.reason, hints: sent, checkedAt: now });
    if (before && before.hints === sent && before.reason === explanation.reason) return;
    const { reason, details, likelyBooks, message } = explanation;
    log.info({ user: user.name, document, reason, details, likelyBooks }, `document matches no book: ${message}`);
    const seen = formatSqlDatetime(this.deps.clock.nowMicros());
    this.deps.state.later(`unmatched:${key}`, 'recording a document that matched no book', (conn) =>
      recordUnmatched(conn, { userId: user.id, document, ...hints, reason, seen }),
    );
  }
}
