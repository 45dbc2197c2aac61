import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

/** Builds of the CLI for tests that run it as a child process, one per source state. */
const BUILD_ROOT = join(PROJECT_ROOT, '.test-build');
const LOCK_STALE_MS = 180_000;

/**
 * `node <path>` runs the server as users run it (`npm run build` output). Built with
 * tsconfig.build.json into .test-build/<hash of the sources>/ instead of dist/, so test files building
 * at the same time (vitest runs files in parallel) and a developer's own dist/ never collide; a build
 * is reused while src/ is unchanged.
 */
export function builtCli(): string {
  const dir = join(BUILD_ROOT, sourceHash());
  const cli = join(dir, 'src', 'cli.js');
  const done = join(dir, '.complete');
  if (existsSync(done)) return cli;
  mkdirSync(BUILD_ROOT, { recursive: true });
  const lock = `${dir}.lock`;
  acquire(lock);
  try {
    if (existsSync(done)) return cli;
    const staging = `${dir}.staging`;
    rmSync(staging, { recursive: true, force: true });
    try {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', staging], { cwd: PROJECT_ROOT, stdio: 'pipe' });
    } catch (error) {
      // Type errors are the typecheck step's business; the emitted JavaScript is what is run here.
      if (!existsSync(join(staging, 'src', 'cli.js'))) throw error;
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    writeFileSync(done, '');
    pruneOldBuilds(dir);
    return cli;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function sourceHash(): string {
  const hash = createHash('sha256');
  const files = ['tsconfig.json', 'tsconfig.build.json', ...listFiles('src'), ...listFiles('bench')];
  for (const file of files)
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(PROJECT_ROOT, file)))
      .update('\0');
  return hash.digest('hex').slice(0, 16);
}

function listFiles(dir: string): string[] {
  const root = join(PROJECT_ROOT, dir);
  if (!existsSync(root)) return [];
  return (readdirSync(root, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => relative(PROJECT_ROOT, join(entry.parentPath, entry.name)))
    .sort();
}

function acquire(lock: string): void {
  const deadline = Date.now() + LOCK_STALE_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      return;
    } catch {
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for the test build lock ${lock}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
}

function pruneOldBuilds(keep: string): void {
  for (const name of readdirSync(BUILD_ROOT)) {
    const path = join(BUILD_ROOT, name);
    if (path !== keep && !name.endsWith('.lock') && Date.now() - statSync(path).mtimeMs > 3_600_000) {
      rmSync(path, { recursive: true, force: true });
    }
  }
}
