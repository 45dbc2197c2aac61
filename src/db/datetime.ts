/**
 * SQLAlchemy's SQLite DATETIME text: `YYYY-MM-DD HH:MM:SS.ffffff`, UTC wall time, no zone. Calibre-Web
 * and CWA write exactly this (SQLAlchemy's SQLite DATETIME storage format with
 * datetime.now(timezone.utc): docs/UPSTREAM.md#sqlalchemy-datetimes-in-sqlite); a `T`, a `Z`, an offset
 * or an integer breaks their readers.
 */
export function formatSqlDatetime(epochMicros: number): string {
  const millis = Math.floor(epochMicros / 1000);
  const micros = String(epochMicros % 1_000_000).padStart(6, '0');
  const iso = new Date(millis).toISOString(); // 2026-11-28T15:21:55.781Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${micros}`;
}

const STORED = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Epoch microseconds of a stored timestamp. Naive values are UTC, as every writer of these columns stores UTC
 * (docs/PROTOCOL.md §2.2: the original reads them as container-local time, which is wrong off UTC). Also
 * reads the ISO forms other writers leave behind (CWA's raw DDL default, `+00:00` suffixes).
 */
export function storedDatetimeToEpochMicros(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = STORED.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = m;
  let millis = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    millis -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  const micros = Number((fraction ?? '').padEnd(6, '0').slice(0, 6));
  return Number.isFinite(millis) ? millis * 1000 + micros : undefined;
}

/** Epoch seconds of a stored timestamp (storedDatetimeToEpochMicros, the fraction dropped). */
export function storedDatetimeToEpochSeconds(value: unknown): number | undefined {
  const micros = storedDatetimeToEpochMicros(value);
  return micros === undefined ? undefined : Math.floor(micros / 1_000_000);
}
