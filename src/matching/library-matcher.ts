import type { Clock } from '../clock.js';
import type { CalibreDb } from '../db/calibre-db.js';
import type { StateDb } from '../db/state-db.js';
import { BookMatcher } from './book-matcher.js';
import { CwaChecksumSource } from './cwa-checksums.js';
import { MissExplainer } from './explain.js';
import { ChecksumIndexSource, FilenameIdSource, UserAliasSource } from './index-sources.js';
import { LibraryTitles } from './library-titles.js';
import { ManualLinkSource } from './manual-links.js';
import { MatchCache } from './match-cache.js';
import { MetadataSource } from './metadata-source.js';

/** Documents (and document lists) whose match is kept between requests. */
const MATCH_CACHE_ENTRIES = 2000;
/** A bound on any staleness the version below would not show. */
const MATCH_CACHE_TTL_MS = 60_000;

/**
 * The matcher of a library, in lookup order: the asking reader's own links, CWA's book_format_checksums when present, then the
 * sidecar's index (partial MD5s of library files and of files Calibre-Web served, then filename ids),
 * then the asking user's aliases, then KOReader's metadata; and the explainer of what matches nothing,
 * comparing metadata with the same table of titles. `onMiss` hears of every document that matched
 * nothing (the scanner refreshes the index, rate-limited, so a book added since the last scan matches on
 * the device's next sync).
 */
export function libraryMatching(
  calibre: CalibreDb,
  state: StateDb,
  clock: Clock,
  onMiss: () => void,
): { matcher: BookMatcher; explainer: MissExplainer; titles: LibraryTitles } {
  const titles = new LibraryTitles(calibre, clock);
  const matcher = new BookMatcher({
    overrides: [new ManualLinkSource(calibre, state)],
    sources: [new CwaChecksumSource(calibre), new ChecksumIndexSource(calibre, state), new FilenameIdSource(calibre, state)],
    userSources: [new UserAliasSource(calibre, state)],
    hintSources: [new MetadataSource(titles, state, clock)],
    onMiss,
    cache: matchCache(calibre, state, clock),
  });
  return { matcher, explainer: new MissExplainer({ calibre, state, titles }), titles };
}

/**
 * The match cache's version: everything the id sources read. metadata.db's `PRAGMA data_version`
 * (moves when calibre, Calibre-Web or CWA commit to it), the state DB's (another process, e.g. a CLI
 * command) and the rows this process changed in the state DB (`total_changes()`: the scanner, the download tap's
 * recordings and the aliases the metadata source records). Two statements per pull instead of one per source.
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
