import { describe, expect, it } from 'vitest';
import { formatSqlDatetime, storedDatetimeToEpochMicros, storedDatetimeToEpochSeconds } from '../src/db/datetime.js';
import { T0 } from './support/app.js';

describe('stored datetimes (docs/UPSTREAM.md#sqlalchemy-datetimes-in-sqlite)', () => {
  it("reads SQLAlchemy's text back to the microsecond it was written with", () => {
    expect(formatSqlDatetime(T0)).toBe('2026-11-28 15:21:55.781869');
    expect(storedDatetimeToEpochMicros('2026-11-28 15:21:55.781869')).toBe(T0);
    expect(storedDatetimeToEpochSeconds('2026-11-28 15:21:55.781869')).toBe(Math.floor(T0 / 1_000_000));
  });

  it('reads the forms other writers leave: no fraction, a `T`, a zone, more than six digits', () => {
    const whole = Math.floor(T0 / 1_000_000) * 1_000_000;
    expect(storedDatetimeToEpochMicros('2026-11-28 15:21:55')).toBe(whole);
    expect(storedDatetimeToEpochMicros('2026-11-28T15:21:55.781869+00:00')).toBe(T0);
    expect(storedDatetimeToEpochMicros('2026-11-28T17:21:55.781869+02:00')).toBe(T0);
    expect(storedDatetimeToEpochMicros('2026-11-28 15:21:55.7818699Z')).toBe(T0);
    expect(storedDatetimeToEpochMicros('2026-11-28 15:21:55.5')).toBe(whole + 500_000);
  });

  it('has no time for anything else', () => {
    expect(storedDatetimeToEpochMicros(null)).toBeUndefined();
    expect(storedDatetimeToEpochMicros(1795879315)).toBeUndefined();
    expect(storedDatetimeToEpochMicros('yesterday')).toBeUndefined();
  });
});
