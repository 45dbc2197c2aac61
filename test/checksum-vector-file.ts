import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';

/** One write of a vector recipe (test/fixtures/vectors/partial-md5.json `recipe_format`). */
export type RecipeWrite =
  | { offset: number; ascii_repeat: string; times: number }
  | { offset: number; fill: number; length: number }
  | { offset: number; k: number; length: number };

export interface Recipe {
  size: number;
  base: 'zero' | 'mod251';
  writes: RecipeWrite[];
}

const CHUNK = 64 * 1024;

function bytesOf(write: RecipeWrite): Buffer {
  if ('ascii_repeat' in write) return Buffer.from(write.ascii_repeat.repeat(write.times), 'ascii');
  if ('fill' in write) return Buffer.alloc(write.length, write.fill);
  return Buffer.from(Array.from({ length: write.length }, (_, j) => (write.k * 37 + j) & 0xff));
}

/**
 * Builds a vector's file: `zero` files are sized with ftruncate, so the 1 GiB ones stay sparse (a few
 * KiB on disk); `mod251` files are written out (byte i = i % 251); then the writes, in order.
 */
export function buildVectorFile(path: string, recipe: Recipe): void {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, recipe.size);
    if (recipe.base === 'mod251') {
      for (let start = 0; start < recipe.size; start += CHUNK) {
        const length = Math.min(CHUNK, recipe.size - start);
        writeSync(fd, Buffer.from(Array.from({ length }, (_, j) => (start + j) % 251)), 0, length, start);
      }
    }
    for (const write of recipe.writes) {
      const bytes = bytesOf(write);
      writeSync(fd, bytes, 0, bytes.length, write.offset);
    }
  } finally {
    closeSync(fd);
  }
}
