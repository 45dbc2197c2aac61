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

/** The same digest over bytes in memory (used where a file is being built). */
export function partialMd5OfBuffer(bytes: Buffer): string {
  const md5 = createHash('md5');
  for (const offset of SAMPLE_OFFSETS) {
    if (offset >= bytes.length) break;
    md5.update(bytes.subarray(offset, offset + SAMPLE_SIZE));
  }
  return md5.digest('hex');
}
