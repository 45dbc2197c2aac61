import { describe, expect, it } from 'vitest';
import { configuredLineWidth, projectFiles, readProjectFile } from './support/source-files.js';

const CODE = /\.(ts|mjs)$/;

describe('house rules the formatter cannot enforce', () => {
  it('no line of code, comment or string is wider than the formatter width in biome.jsonc', () => {
    const width = configuredLineWidth();
    const wide = projectFiles('src', 'test', 'bench', 'docker', 'vitest.config.ts')
      .filter((file) => CODE.test(file))
      .flatMap((file) =>
        readProjectFile(file)
          .split('\n')
          .flatMap((line, i) => ([...line].length > width ? [`${file}:${i + 1} (${[...line].length} characters)`] : [])),
      );
    expect(wide).toEqual([]);
  });
});
