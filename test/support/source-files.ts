import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

/** The files git tracks or would add (not ignored) under `dirs`, relative to the project root, sorted. */
export function projectFiles(...dirs: string[]): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', ...dirs], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
  });
  return [...new Set(listed.split('\n').filter((file) => file !== ''))].sort();
}

export function readProjectFile(file: string): string {
  return readFileSync(join(PROJECT_ROOT, file), 'utf8');
}

/** The formatter's line width, from biome.jsonc: the one width every line must fit. */
export function configuredLineWidth(): number {
  const width = /"lineWidth":\s*(\d+)/.exec(readProjectFile('biome.jsonc'))?.[1];
  if (width === undefined) throw new Error('biome.jsonc sets no formatter.lineWidth');
  return Number(width);
}
