import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

const SAMPLE_SIZE = 1024;

/**
 * KOReader's document id (util.lua partialMD5, docs/UPSTREAM.md#koreader-keys-and-document-ids): MD5
 * over up to 1024 bytes at each of 0, 1 Ki, 4 Ki, 16 Ki … 1 Gi, stopping at the first empty read.
 * LuaJIT's `lshift(1024, 2*i)` for i = -1 masks the shift to 30 and overflows to 0; JavaScript's `<<`
 * does the same.
 */
export const SAMPLE_OFFSETS: readonly number[] = Array.from({ length: 12 }, (_, k) => (1024 << (2 * (k - 1))) >>> 0);

/** The partial MD5 of a file as lower-case hex; reads at most 12 KiB, whatever the file size. */
export async function partialMd5(path: string): Promise<string> {
  const file = await open(path, 'r');
  try {
    const md5 = createHash('md5');
    const buffer = Buffer.alloc(SAMPLE_SIZE);
    for (const offset of SAMPLE_OFFSETS) {
      const { bytesRead } = await file.read(buffer, 0, SAMPLE_SIZE, offset);
      if (bytesRead === 0) break;
      md5.update(buffer.subarray(0, bytesRead));
    }
    return md5.digest('hex');
  } finally {
    await file.close();
  }
}

/**
 * The same digest over bytes that arrive in order (a download passing through, chunk by chunk): keeps
 * only the at most 12 KiB at the sample offsets, never the bytes in between.
 */
export class PartialMd5Sampler {
  private readonly samples = SAMPLE_OFFSETS.map(() => Buffer.alloc(SAMPLE_SIZE));
  /** Bytes seen so far: the offset of the next byte. */
  private length = 0;

  get bytes(): number {
    return this.length;
  }

  update(chunk: Uint8Array): this {
    const start = this.length;
    const end = start + chunk.length;
    SAMPLE_OFFSETS.forEach((offset, i) => {
      const from = Math.max(offset, start);
      const to = Math.min(offset + SAMPLE_SIZE, end);
      if (from < to) this.samples[i]!.set(chunk.subarray(from - start, to - start), from - offset);
    });
    this.length = end;
    return this;
  }

  /** The lower-case hex digest of the bytes seen, as KOReader would compute it of a file holding them. */
  digest(): string {
    const md5 = createHash('md5');
    SAMPLE_OFFSETS.forEach((offset, i) => {
      if (offset < this.length) md5.update(this.samples[i]!.subarray(0, Math.min(SAMPLE_SIZE, this.length - offset)));
    });
    return md5.digest('hex');
  }
}

/** The same digest over bytes in memory (used where a file is being built). */
export function partialMd5OfBuffer(bytes: Buffer): string {
  return new PartialMd5Sampler().update(bytes).digest();
}
