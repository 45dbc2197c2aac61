import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const script = new URL('../docker/trim-node-modules.mjs', import.meta.url).pathname;

describe('docker/trim-node-modules.mjs', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A pruned production install: package-lock.json's `packages` and the files under node_modules. */
  function install(packages: Record<string, object>, files: string[], emptyDirs: string[] = []) {
    dir = mkdtempSync(join(tmpdir(), 'trim-'));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages }));
    for (const file of files) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), file);
    }
    for (const empty of emptyDirs) mkdirSync(join(dir, empty), { recursive: true });
  }
  const left = () => (readdirSync(join(dir, 'node_modules'), { recursive: true }) as string[]).sort();

  it('keeps what the server loads and drops install-time packages, addon sources, maps, declarations and empty folders', async () => {
    install(
      {
        '': { dependencies: { 'better-sqlite3': '^12', pino: '^9' } },
        'node_modules/better-sqlite3': { dependencies: { bindings: '^1', 'prebuild-install': '^7' } },
        'node_modules/bindings': {},
        'node_modules/prebuild-install': { dependencies: { rc: '^1', pump: '^3', 'tar-fs': '^2' } },
        'node_modules/rc': { dependencies: { ini: '^1' } },
        'node_modules/rc/node_modules/ini': {},
        'node_modules/ini': {},
        'node_modules/tar-fs': {},
        'node_modules/pump': {},
        'node_modules/pino': { dependencies: { pump: '^3', ini: '^2' } },
        'node_modules/vitest': { dev: true },
      },
      [
        'node_modules/better-sqlite3/package.json',
        'node_modules/better-sqlite3/lib/index.js',
        'node_modules/better-sqlite3/LICENSE',
        'node_modules/better-sqlite3/deps/sqlite3/sqlite3.c',
        'node_modules/better-sqlite3/src/better_sqlite3.cpp',
        'node_modules/better-sqlite3/build/Makefile',
        'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
        'node_modules/better-sqlite3/build/Release/test_extension.node',
        'node_modules/better-sqlite3/build/Release/obj.target/better_sqlite3/src/better_sqlite3.o',
        'node_modules/bindings/bindings.js',
        'node_modules/prebuild-install/bin.js',
        'node_modules/rc/index.js',
        'node_modules/rc/node_modules/ini/ini.js',
        'node_modules/ini/ini.js',
        'node_modules/tar-fs/index.js',
        'node_modules/pump/index.js',
        'node_modules/pump/index.d.ts',
        'node_modules/pino/pino.js',
        'node_modules/pino/pino.js.map',
        'node_modules/pino/types/pino.d.ts',
        'node_modules/pino/types/pino.d.mts',
      ],
      ['node_modules/@types', 'node_modules/@vitest/runner'],
    );
    const { stdout } = await run(process.execPath, [script], { cwd: dir });
    expect(left()).toEqual([
      'better-sqlite3',
      'better-sqlite3/LICENSE',
      'better-sqlite3/build',
      'better-sqlite3/build/Release',
      'better-sqlite3/build/Release/better_sqlite3.node',
      'better-sqlite3/lib',
      'better-sqlite3/lib/index.js',
      'better-sqlite3/package.json',
      'bindings',
      'bindings/bindings.js',
      'ini',
      'ini/ini.js',
      'pino',
      'pino/pino.js',
      'pump',
      'pump/index.js',
    ]);
    expect(stdout).toBe('trimmed node_modules: prebuild-install, rc, tar-fs, rc/node_modules/ini and never-loaded files removed\n');
  });
});
