import { stat } from 'node:fs/promises';
import { LruCache } from '../util/lru-cache.js';
import { readSpine } from './spine.js';

/** A file's spine, or why it has none, as read from one version of the file. */
type SpineAnswer = { spine: readonly string[] } | { problem: Error };

interface Cached {
  /** The file's inode, size and modification time when it was read: another version is read again. */
  version: string;
  answer: Promise<SpineAnswer>;
}

/**
 * Spines of library files, read once per version of each file (its path, size and modification
 * time, and its inode: a replaced or edited file is read again) and kept for the most recently used files. A file
 * without a spine is remembered as such too, so a damaged book is not unzipped on every sync.
 */
export class SpineCache {
  private readonly files: LruCache<string, Cached>;

  constructor(maxFiles: number) {
    this.files = new LruCache({ maxEntries: maxFiles });
  }

  /** The spine of the file at `path`, or the problem that leaves it without one (missing, not an EPUB, …). */
  async spineOf(path: string): Promise<SpineAnswer> {
    let version: string;
    try {
      const stats = await stat(path);
      version = `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
    } catch (error) {
      return { problem: error as Error };
    }
    const cached = this.files.get(path);
    if (cached?.version === version) return cached.answer;
    const answer = readSpine(path).then(
      (spine) => ({ spine: Object.freeze(spine) }),
      (problem: Error) => ({ problem }),
    );
    this.files.set(path, { version, answer });
    return answer;
  }
}
