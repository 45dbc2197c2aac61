import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LAUNCH_FLAGS } from '../src/cli/heap-settings.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { builtCli } from './support/built-cli.js';

const THREADS_REPORT = join(import.meta.dirname, 'support', 'thread-count-report.mjs');

/** The threads of a CLI run (`--help`) at its exit, from test/support/thread-count-report.mjs. */
function threadsAtExit(command: string, args: string[]): number {
  const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH}`, NODE_OPTIONS: `--import ${THREADS_REPORT}` };
  const { stderr, status } = spawnSync(command, args, { env, encoding: 'utf8' });
  const count = /threads (\d+)/.exec(stderr);
  if (status !== 0 || !count) throw new Error(`no thread count (exit ${status}): ${stderr}`);
  return Number(count[1]);
}

describe("the program's launch flags", () => {
  it('are on every line that starts the program (the shebang, npm start, the image entrypoint) and checked in the running image', () => {
    const flags = LAUNCH_FLAGS.join(' ');
    const shebang = readFileSync(join(PROJECT_ROOT, 'src', 'cli.ts'), 'utf8').split('\n', 1)[0];
    expect(shebang).toBe(`#!/usr/bin/env -S node ${flags}`);
    const start = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).scripts.start;
    expect(start).toBe(`npm run build --silent && node ${flags} dist/src/cli.js`);
    const entrypoint = readFileSync(join(PROJECT_ROOT, 'docker', 'entrypoint.sh'), 'utf8');
    expect(entrypoint).toContain(`\nnode_flags=${flags}\n`);
    expect(entrypoint.match(/\bnode \$node_flags "\$cli" "\$@"/g)).toHaveLength(2);
    expect(entrypoint).not.toMatch(/\bnode "\$cli"/);
    const smoke = readFileSync(join(PROJECT_ROOT, 'docker', 'smoke.sh'), 'utf8');
    expect(smoke).toContain(`"node ${flags} /app/dist/src/cli.js serve"`);
  });

  describe('run by the built CLI', () => {
    let cli: string;
    beforeAll(() => {
      cli = builtCli();
      chmodSync(cli, 0o755);
    }, 120_000);

    it("keep V8 to one background thread: three fewer threads than node's default of four", () => {
      expect(threadsAtExit(cli, ['--help'])).toBe(threadsAtExit(process.execPath, [cli, '--help']) - 3);
    });
  });
});
