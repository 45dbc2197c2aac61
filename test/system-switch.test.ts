import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/paths.js';

/** The probe (a test needing a tool no machine has) run by vitest in a process of its own. */
function runProbe(requireSystemPackages: boolean): { status: number | null; output: string } {
  const env = { ...process.env, KOSYNC_REQUIRE_SYSTEM_PACKAGES: requireSystemPackages ? '1' : '0' };
  const vitest = join(PROJECT_ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const run = spawnSync(process.execPath, [vitest, 'run', '--config', 'test/system-switch/vitest.config.ts'], {
    cwd: PROJECT_ROOT,
    env,
    encoding: 'utf8',
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('KOSYNC_REQUIRE_SYSTEM_PACKAGES, the switch .ci/run sets', () => {
  it('without it, a test whose system package is missing is skipped, with a warning naming it', () => {
    const { status, output } = runProbe(false);
    expect(status).toBe(0);
    expect(output).toContain('skipping the probe tests: /nonexistent/kosync-probe-tool is missing (apt-get install nothing)');
    expect(output).toMatch(/1 skipped/);
  });

  it('with it, the same test fails in its place, saying what is missing', () => {
    const { status, output } = runProbe(true);
    expect(status).toBe(1);
    expect(output).toContain('has what the probe tests need: /nonexistent/kosync-probe-tool is missing (apt-get install nothing)');
    expect(output).toMatch(/1 failed/);
  });
});
