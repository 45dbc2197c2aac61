import { KosyncError } from '../errors.js';

export interface VerificationQueueOptions {
  /** Password checks running at once (each is 100–400 ms of key derivation on libuv's thread pool). */
  concurrency: number;
  /** Checks allowed to wait for a free slot; past that a new attempt is refused at once. */
  maxWaiting: number;
}

/**
 * A cap on concurrent password verifications with a small FIFO queue. When both are full a new
 * attempt gets 503/1000 immediately instead of piling up behind a flood of logins; logins answered
 * from memory never come here, so they keep working while the queue is full.
 */
export class VerificationQueue {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly options: VerificationQueueOptions) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.options.concurrency) {
      this.running++;
    } else if (this.waiting.length < this.options.maxWaiting) {
      // The finishing task hands its slot over, so `running` stays as it is.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      throw new KosyncError('storageUnavailable', 'Too many logins being checked, try again later', { 'retry-after': '1' });
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Verifications running and waiting, for tests and metrics. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }
}
