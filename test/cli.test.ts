import { describe, expect, it } from 'vitest';
import { flagFor } from '../src/cli/args.js';
import { COMMANDS } from '../src/cli/commands/index.js';
import { ENV_VARIABLES } from '../src/config.js';
import { cli } from './support/cli.js';

describe('calibre-web-kosync --help', () => {
  it('lists every command and every environment variable as a flag, and exits 0', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^Usage: calibre-web-kosync \[command\] \[options\]\n/);
    for (const command of COMMANDS) expect(run.stdout).toContain(`  ${command.usage}`);
    expect(run.stdout).toContain('doctor [options]');
    for (const variable of ENV_VARIABLES) expect(run.stdout).toMatch(new RegExp(`  ${flagFor(variable)} +\\(env ${variable}\\)\\n`));
    expect(run.stdout).toContain('  --metrics ');
  });

  it.each(COMMANDS.map((c) => [c.name, c] as const))('explains the %s command on its own', async (name, command) => {
    const run = await cli([name, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout.startsWith(`Usage: calibre-web-kosync ${command.usage}\n\n${command.summary}\n`)).toBe(true);
    expect(run.stdout).toContain('  --app-db ');
  });
});

describe('calibre-web-kosync with bad arguments', () => {
  it('refuses an unknown flag with exit code 2 and the usage', async () => {
    const run = await cli(['doctor', '--no-such-flag']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^calibre-web-kosync: unknown option --no-such-flag\n\nUsage: calibre-web-kosync/);
  });

  it('refuses an unknown command with exit code 2', async () => {
    const run = await cli(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^calibre-web-kosync: unknown command "frobnicate"\n/);
  });

  it('refuses a flag without its value with exit code 2', async () => {
    const run = await cli(['doctor', '--app-db']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^calibre-web-kosync: --app-db needs a value\n/);
  });

  it('names the variable of a bad value, given as a flag, and exits 1', async () => {
    const run = await cli(['doctor', '--metrics', 'sometimes']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'calibre-web-kosync: Invalid configuration:\n' +
        '  - KOSYNC_METRICS: must be off, on, or a port number (1-65535) for metrics alone (got "sometimes")\n',
    );
  });
});
