import { VerificationsFull } from '../domain-errors.js';

interface VerificationQueueOptions {
  /** Password checks running at once (each is 100–400 ms of key derivation on libuv's thread pool). */
  concurrency: number;
  /** Checks allowed to wait for a free slot; past that a new attempt is refused at once. */
  maxWaiting: number;
  /** Checks, running or waiting, one share (a client's address or network) may hold at once. */
  perShare: number;
}

/**
 * A cap on concurrent password verifications with a small FIFO queue, of which each share (see
 * verificationShareKey) may hold only a few places, so a flood from a handful of addresses cannot
 * take them all. When the share or the queue is full a new attempt is refused (VerificationsFull) at once instead
 * of piling up; logins answered from memory never come here, so they keep working meanwhile.
 */
export class VerificationQueue {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /** Checks running or waiting, per share. */
  private readonly held = new Map<string, number>();

  constructor(private readonly options: VerificationQueueOptions) {}

  /** Runs `task` in turn; `share` is whose places it takes (none: counted in the total only). */
  async run<T>(task: () => Promise<T>, share?: string): Promise<T> {
    if (share !== undefined && (this.held.get(share) ?? 0) >= this.options.perShare) {
      throw new VerificationsFull(`this client holds ${this.options.perShare} of the password checks already`);
    }
    if (this.running < this.options.concurrency) {
      this.running++;
      this.hold(share, 1);
    } else if (this.waiting.length < this.options.maxWaiting) {
      this.hold(share, 1);
      // The finishing task hands its slot over, so `running` stays as it is.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      throw new VerificationsFull(`${this.options.maxWaiting} password checks are waiting already`);
    }
    try {
      return await task();
    } finally {
      this.hold(share, -1);
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  private hold(share: string | undefined, change: 1 | -1): void {
    if (share === undefined) return;
    const count = (this.held.get(share) ?? 0) + change;
    if (count > 0) this.held.set(share, count);
    else this.held.delete(share);
  }
}
