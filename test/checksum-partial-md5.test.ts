import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { partialMd5, partialMd5OfBuffer, SAMPLE_OFFSETS } from '../src/checksums/partial-md5.js';
import { buildVectorFile, type Recipe } from './checksum-vector-file.js';
import { FIXTURES } from './support/fixtures.js';

interface Vector {
  name: string;
  recipe: Recipe;
  expected: string;
}

const vectors = (JSON.parse(readFileSync(join(FIXTURES, 'vectors', 'partial-md5.json'), 'utf8')) as { vectors: Vector[] }).vectors;
const dir = mkdtempSync(join(tmpdir(), 'kosync-md5-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('KOReader partial MD5', () => {
  it('samples at 0, 1 Ki, 4 Ki … 1 Gi, as LuaJIT shifts', () => {
    expect(SAMPLE_OFFSETS).toEqual([0, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864, 268435456, 1073741824]);
  });

  it('has all thirteen shared vectors, the three sparse ones past 1 GiB included', () => {
    expect(vectors.map((v) => v.name)).toEqual([
      'empty',
      'one-byte',
      'ascii-test',
      'mod251-1023',
      'mod251-1024',
      'mod251-1025',
      'mod251-4096',
      'mod251-4097',
      'cwa-synthetic-layout',
      'mod251-300KiB',
      'sparse-1GiB-plus-1KiB',
      'sparse-1GiB-plus-100',
      'sparse-exactly-1GiB',
    ]);
  });

  for (const vector of vectors) {
    it(`streams vector ${vector.name} to ${vector.expected}`, async () => {
      const path = join(dir, vector.name);
      buildVectorFile(path, vector.recipe);
      expect(statSync(path).size).toBe(vector.recipe.size);
      expect(await partialMd5(path)).toBe(vector.expected);
      rmSync(path);
    });
  }

  for (const vector of vectors.filter((v) => v.recipe.size <= 1024 * 1024)) {
    it(`computes vector ${vector.name} from bytes in memory`, () => {
      const path = join(dir, `${vector.name}.mem`);
      buildVectorFile(path, vector.recipe);
      expect(partialMd5OfBuffer(readFileSync(path))).toBe(vector.expected);
      rmSync(path);
    });
  }

  it('gives book 1 of the fixture library its published checksum', async () => {
    const file = join(dir, 'book1.epub');
    copyFileSync(join(FIXTURES, 'calibre', 'Mara Ellison', 'The Quiet Lighthouse (1)', 'The Quiet Lighthouse - Mara Ellison.epub'), file);
    expect(await partialMd5(file)).toBe('e1dbc3a8ba7a76e2bc720bd6815715b0');
  });

  it('rejects a missing file', async () => {
    await expect(partialMd5(join(dir, 'absent.epub'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
