import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { heapFlags } from '../src/cli/heap-settings.js';
import { builtCli } from './support/built-cli.js';

const REPORT = join(import.meta.dirname, 'support', 'young-generation-report.mjs');
const MiB = 2 ** 20;

/** The young generation's size at exit after objects survived scavenges, `--help` run by the CLI or `node -e ''`. */
function youngGeneration(script: string[], nodeOptions?: string): number {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  if (nodeOptions !== undefined) env.NODE_OPTIONS = nodeOptions;
  const { stderr } = spawnSync(process.execPath, ['--import', REPORT, ...script], { env, encoding: 'utf8' });
  const size = /young generation (\d+) after keeping 300000 objects/.exec(stderr);
  if (!size) throw new Error(`no report in: ${stderr}`);
  return Number(size[1]);
}

describe("the CLI's heap settings", () => {
  let cli: string;
  beforeAll(() => {
    cli = builtCli();
  }, 120_000);

  it("keep V8's young generation at its initial 1 MiB semi-spaces without any node flag", () => {
    expect(youngGeneration([cli, '--help'])).toBe(2 * MiB);
  });

  it('are what keeps it there: node alone lets it grow', () => {
    expect(youngGeneration(['-e', ''])).toBeGreaterThan(2 * MiB);
  });

  it('leave the young generation to whoever sizes it in NODE_OPTIONS', () => {
    expect(youngGeneration([cli, '--help'], '--max-semi-space-size=8')).toBe(16 * MiB);
  });

  it('leave it to node flags on the command line too', () => {
    expect(youngGeneration(['--semi-space-growth-factor=2', cli, '--help'])).toBeGreaterThan(2 * MiB);
  });
});

describe('heapFlags', () => {
  it('sets both generations when node was given no heap flag', () => {
    expect(heapFlags([], undefined)).toEqual(['--semi-space-growth-factor=1', '--heap-growing-percent=20']);
    expect(heapFlags(['--enable-source-maps'], '--trace-warnings')).toEqual(['--semi-space-growth-factor=1', '--heap-growing-percent=20']);
  });

  it('leaves the young generation to --max-semi-space-size, in NODE_OPTIONS or on the command line, with _ or -', () => {
    expect(heapFlags([], '--max-semi-space-size=4 --max-old-space-size=512')).toEqual([]);
    expect(heapFlags(['--max_semi_space_size=4'], undefined)).toEqual(['--heap-growing-percent=20']);
    expect(heapFlags([], '  --min-semi-space-size 2  ')).toEqual(['--heap-growing-percent=20']);
  });

  it('leaves the old generation to --max-old-space-size, --max-heap-size or --heap-growing-percent', () => {
    expect(heapFlags(['--max-old-space-size=256'], undefined)).toEqual(['--semi-space-growth-factor=1']);
    expect(heapFlags([], '--max-heap-size=300')).toEqual(['--semi-space-growth-factor=1']);
    expect(heapFlags(['--heap_growing_percent=50'], undefined)).toEqual(['--semi-space-growth-factor=1']);
  });
});
