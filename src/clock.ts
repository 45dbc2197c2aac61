/**
 * The only source of time in the sidecar, so tests can pin it. Two kinds, never mixed:
 * - `nowMicros`: the wall clock at this moment (epoch microseconds), for every time that is stored or
 *   answered. Read afresh on each call, so a host whose clock is set after start (a NAS or a Pi
 *   without a real-time clock, before NTP) writes correct times from then on.
 * - `monotonicMs`: for deadlines, windows, time-to-live and durations, which must not jump when the
 *   wall clock is set.
 */
export interface Clock {
  nowMicros(): number;
  monotonicMs(): number;
}

/**
 * How far the wall clock may drift from the monotonic clock before it counts as set. `Date.now()` has
 * millisecond resolution, so the sub-millisecond part comes from `performance.now()` anchored to it.
 */
const WALL_STEP_MS = 2;

function systemWallClock(): () => number {
  let offsetMs = Date.now() - performance.now();
  return () => {
    const monotonic = performance.now();
    const wall = Date.now();
    let now = offsetMs + monotonic;
    if (Math.abs(now - wall) > WALL_STEP_MS) {
      offsetMs = wall - monotonic;
      now = wall;
    }
    return Math.floor(now * 1000);
  };
}

/** Milliseconds left until a monotonic `deadline` (Clock.monotonicMs), never below 0. */
export function msLeft(deadline: number, nowMs: number): number {
  return Math.max(0, deadline - nowMs);
}

export const systemClock: Clock = {
  nowMicros: systemWallClock(),
  monotonicMs: () => performance.now(),
};

/**
 * A clock for tests: the wall clock starts at `startMicros` and moves only when told; the monotonic
 * clock runs in real time (lock waits and timers stay real) plus whatever `advance` added.
 */
export function fixedClock(startMicros: number): Clock & { advance(micros: number): void; setWall(micros: number): void } {
  let wall = startMicros;
  let advancedMs = 0;
  return {
    nowMicros: () => wall,
    monotonicMs: () => performance.now() + advancedMs,
    advance(micros: number) {
      wall += micros;
      advancedMs += micros / 1000;
    },
    /** The wall clock set (as by NTP or an admin), monotonic time unchanged. */
    setWall(micros: number) {
      wall = micros;
    },
  };
}
