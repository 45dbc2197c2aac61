import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { CalibreDb } from '../db/calibre-db.js';
import type { StateDb } from '../db/state-db.js';
import { BookMatcher } from '../matching/book-matcher.js';
import { ChecksumIndexSource, FilenameIdSource } from '../matching/checksum-index.js';
import { CwaChecksumSource } from '../matching/cwa-checksums.js';
import { MetadataSource } from '../matching/metadata-source.js';
import { ChecksumScanner } from './scanner.js';

/** Least time between two index refreshes asked for by documents that matched nothing. */
export const UNKNOWN_REFRESH_GAP_MS = 60_000;

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
    { onMiss: () => scanner.requestRefresh() },
  );
  return { matcher, scanner };
}
