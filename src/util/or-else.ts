/** Where a fallback is reported: a fastify request's log, or the CLI's. */
export interface WarnLog {
  warn(obj: object, message: string): void;
}

/** What `work` answers, or, when it throws, `fallback`, with a warning saying what is done instead. */
export function orElse<T>(log: WarnLog, instead: string, fallback: T, work: () => T): T {
  try {
    return work();
  } catch (error) {
    log.warn({ err: error }, instead);
    return fallback;
  }
}
