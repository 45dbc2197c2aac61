import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { it } from 'vitest';

/**
 * Set in CI (.ci/run): a test that needs a system package or tool that is missing fails instead of
 * being skipped, so a run can never pass by skipping the LDAP, nginx, browser or differential tests.
 */
const REQUIRE_SYSTEM_PACKAGES = process.env.KOSYNC_REQUIRE_SYSTEM_PACKAGES === '1';

/** Why `path` (a file a system package installs) is missing, or undefined when it is there. */
export function missingFile(path: string, install: string): string | undefined {
  return existsSync(path) ? undefined : `${path} is missing (${install})`;
}

/** Why `command args…` does not run successfully, or undefined when it does. */
export function missingCommand(command: string, args: readonly string[], install: string): string | undefined {
  const run = spawnSync(command, args, { stdio: 'ignore' });
  return run.status === 0 ? undefined : `\`${[command, ...args].join(' ')}\` does not run (${install})`;
}

/**
 * Whether the tests of `what` are skipped because a system package or tool is missing (`missing` says
 * which and how to install it; undefined when everything is there). Locally they are skipped with a
 * warning. With KOSYNC_REQUIRE_SYSTEM_PACKAGES=1 they are skipped too, but a failing test stands in
 * their place, saying what is missing. Call it where tests are declared: `describe.skipIf(...)`.
 * Skips for any other reason (privileges, the platform) are not this: they stay skips, and the test's
 * name says why.
 */
export function skipWithout(missing: string | undefined, what: string): boolean {
  if (missing === undefined) return false;
  if (REQUIRE_SYSTEM_PACKAGES) {
    it(`has what ${what} need: ${missing}`, () => {
      throw new Error(`${missing}; KOSYNC_REQUIRE_SYSTEM_PACKAGES=1 makes this a failure instead of a skip`);
    });
  } else {
    console.warn(`skipping ${what}: ${missing}`);
  }
  return true;
}
