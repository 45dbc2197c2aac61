import { ChecksumScanner } from './checksums/scanner.js';
import { DownloadTap } from './checksums/served-file.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Databases } from './databases.js';
import type { CalibreDb } from './db/calibre-db.js';
import type { BookMatcher } from './matching/book-matcher.js';
import type { MissExplainer } from './matching/explain.js';
import type { LibraryTitles } from './matching/library-titles.js';
import { libraryMatching } from './matching/library-matcher.js';
import { MissReporter } from './matching/miss-reporter.js';

/** Least time between two index refreshes asked for by documents that matched nothing. */
const UNKNOWN_REFRESH_GAP_MS = 60_000;

/** What the server and the CLI do with a Calibre library: match documents to its books, and index its files. */
export interface Library {
  calibreDb: CalibreDb;
  matcher: BookMatcher;
  /** Why a document matches no book; `misses` says it in the log for a push. */
  explainer: MissExplainer;
  misses: MissReporter;
  /** The library's books with their authors, read at most once a minute (for searching books to link). */
  titles: LibraryTitles;
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
  const { matcher, explainer, titles } = libraryMatching(calibreDb, stateDb, clock, () => scanner.requestRefresh());
  const misses = new MissReporter({ explainer, state: stateDb, clock });
  return { calibreDb, matcher, explainer, misses, titles, scanner };
}

/** The download tap's recorder: a file Calibre-Web serves is recorded in the state DB's checksum index. */
export function downloadTaps(
  databases: Pick<Databases, 'stateDb'>,
  clock: Clock,
): (file: ConstructorParameters<typeof DownloadTap>[0]) => DownloadTap {
  return (file) => new DownloadTap(file, { state: databases.stateDb, clock });
}
