interface LruCacheOptions {
  /** Entries kept at most; the least recently used go first. 0 or less keeps nothing. */
  maxEntries: number;
  /** How long an entry counts when `set` is given none; unbounded when absent. */
  ttlMs?: number;
  /** Monotonic milliseconds (src/clock.ts), against which lifetimes are counted; needed only for entries with one. */
  now?: () => number;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
}

/**
 * A map bounded to `maxEntries`, dropping the least recently used entry first, whose entries may have
 * a lifetime: an expired entry is dropped when it is next looked at. Used wherever the server keeps a
 * bounded memory of clients (remembered logins, failed-login windows, known addresses, library matches).
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();

  constructor(private readonly options: LruCacheOptions) {}

  /** The live value for `key`, made the most recently used. */
  get(key: K): V | undefined {
    const entry = this.live(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** The live value for `key`, leaving the order of use as it is. */
  peek(key: K): V | undefined {
    return this.live(key)?.value;
  }

  /** Stores `value` as the most recently used, for `ttlMs` (the cache's lifetime by default), then drops the oldest past the bound. */
  set(key: K, value: V, ttlMs = this.options.ttlMs ?? Number.POSITIVE_INFINITY): void {
    if (this.options.maxEntries <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: Number.isFinite(ttlMs) ? this.now() + ttlMs : ttlMs });
    while (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value as K);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  private now(): number {
    if (!this.options.now) throw new Error('an LruCache whose entries expire needs a clock (now)');
    return this.options.now();
  }

  private live(key: K): Entry<V> | undefined {
    const entry = this.entries.get(key);
    if (entry && Number.isFinite(entry.expiresAt) && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
