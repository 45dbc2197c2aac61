import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { CalibreDb } from '../db/calibre-db.js';
import type { StateDb } from '../db/state-db.js';
import { BookMatcher } from '../matching/book-matcher.js';
import { ChecksumIndexSource, FilenameIdSource } from '../matching/checksum-index.js';
import { CwaChecksumSource } from '../matching/cwa-checksums.js';
import { MatchCache } from '../matching/match-cache.js';
import { MetadataSource } from '../matching/metadata-source.js';
import { ChecksumScanner } from './scanner.js';

/** Least time between two index refreshes asked for by documents that matched nothing. */
export const UNKNOWN_REFRESH_GAP_MS = 60_000;

/** Documents (and document lists) whose match is kept between requests. */
export const MATCH_CACHE_ENTRIES = 2000;
/** A bound on any staleness the version below would not show. */
export const MATCH_CACHE_TTL_MS = 60_000;

export interface LibraryMatching {
  matcher: BookMatcher;
  scanner: ChecksumScanner;
}

/**
 * The matcher chain of a library, in lookup order: CWA's book_format_checksums when present, then the
 * sidecar's index (binary ids and aliases, then filename ids), then KOReader's metadata. A document
 * that matches nothing asks the scanner for a refresh (rate-limited), so a book added since the last
 * scan matches on the device's next sync.
 */
export function libraryMatching(
  config: Pick<Config, 'scanIntervalSeconds'>,
  calibre: CalibreDb,
  state: StateDb,
  clock: Clock,
): LibraryMatching {
  const scanner = new ChecksumScanner({
    library: calibre.library,
    calibre,
    state,
    clock,
    intervalMs: config.scanIntervalSeconds * 1000,
    unknownRefreshGapMs: UNKNOWN_REFRESH_GAP_MS,
  });
  const matcher = new BookMatcher(
    [
      new CwaChecksumSource(calibre),
      new ChecksumIndexSource(calibre, state),
      new FilenameIdSource(calibre, state),
      new MetadataSource(calibre, state, clock),
    ],
    { onMiss: () => scanner.requestRefresh(), cache: matchCache(calibre, state, clock) },
  );
  return { matcher, scanner };
}

/**
 * The match cache's version: metadata.db's `PRAGMA data_version` (moves when Calibre, Calibre-Web or
 * CWA commit to it), the state DB's (another process, e.g. a CLI command) and the rows this process
 * changed in the state DB (`total_changes()`: the scanner and recorded aliases). Two statements per
 * pull instead of one per source.
 */
function matchCache(calibre: CalibreDb, state: StateDb, clock: Clock): MatchCache {
  const calibreVersion = calibre.conn.raw.prepare('PRAGMA data_version').pluck();
  const stateVersion = state.conn.raw.prepare('SELECT (SELECT data_version FROM pragma_data_version()), total_changes()').raw();
  return new MatchCache({
    maxEntries: MATCH_CACHE_ENTRIES,
    ttlMs: MATCH_CACHE_TTL_MS,
    now: () => clock.monotonicMs(),
    version: () => `${calibreVersion.get() as number}:${(stateVersion.get() as number[]).join(':')}`,
  });
}
