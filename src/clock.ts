/** The only source of "now" in the sidecar, so tests can pin time. Values are epoch microseconds. */
export interface Clock {
  nowMicros(): number;
}

export const systemClock: Clock = {
  nowMicros: () => Math.floor((performance.timeOrigin + performance.now()) * 1000),
};

/** A clock for tests: starts at `startMicros` and advances only when told. */
export function fixedClock(startMicros: number): Clock & { advance(micros: number): void } {
  let now = startMicros;
  return {
    nowMicros: () => now,
    advance(micros: number) {
      now += micros;
    },
  };
}
