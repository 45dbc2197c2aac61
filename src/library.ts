import { ChecksumScanner } from './checksums/scanner.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Databases } from './databases.js';
import type { CalibreDb } from './db/calibre-db.js';
import type { BookMatcher } from './matching/book-matcher.js';
import { libraryMatcher } from './matching/library-matcher.js';

/** Least time between two index refreshes asked for by documents that matched nothing. */
const UNKNOWN_REFRESH_GAP_MS = 60_000;

/** What the server and the CLI do with a Calibre library: match documents to its books, and index its files. */
export interface Library {
  calibreDb: CalibreDb;
  matcher: BookMatcher;
  /** Keeps the checksum index in step with the library; its owner starts and stops it. */
  scanner: ChecksumScanner;
}

/**
 * The matcher and scanner of the opened library, wired so that a document nothing matches asks the
 * scanner for a refresh; undefined without a library (progress then syncs unmatched).
 */
export function libraryOf(config: Pick<Config, 'scanIntervalSeconds'>, databases: Databases, clock: Clock): Library | undefined {
  const { calibreDb, stateDb } = databases;
  if (!calibreDb) return undefined;
  const scanner = new ChecksumScanner({
    library: calibreDb.library,
    calibre: calibreDb,
    state: stateDb,
    clock,
    intervalMs: config.scanIntervalSeconds * 1000,
    unknownRefreshGapMs: UNKNOWN_REFRESH_GAP_MS,
  });
  const matcher = libraryMatcher(calibreDb, stateDb, clock, () => scanner.requestRefresh());
  return { calibreDb, matcher, scanner };
}
