// Run by docker/Dockerfile's build stage in /app after `npm prune --omit=dev`: leaves in node_modules
// only what the server loads at run time.
// - better-sqlite3 is compiled from source, so prebuild-install (its install-time downloader) and
//   every package that only prebuild-install needs go, as do the addon's SQLite sources and object
//   files (26 MB): only build/Release/better_sqlite3.node is loaded.
// - Source maps and TypeScript declarations are never read by node.
// - Scope folders that `npm prune` emptied go too.
// Usage: node trim-node-modules.mjs [dir]   (dir holds package-lock.json and node_modules; default .)
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const INSTALL_TIME_ONLY = 'prebuild-install';
const ADDON = 'node_modules/better-sqlite3';
const ADDON_FILE = 'better_sqlite3.node';
const NEVER_LOADED = /\.(map|d\.ts|d\.mts|d\.cts)$/;

const dir = process.argv[2] ?? '.';
const packages = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')).packages;

/** Where node finds `name` when required from the package at `from` ('' is the project). */
function resolve(from, name) {
  for (let at = from; ; at = at.slice(0, Math.max(0, at.lastIndexOf('/node_modules/')))) {
    const candidate = `${at ? `${at}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!at) return undefined;
  }
}

/** The production packages reachable from the project, not following dependencies named `skip`. */
function reachable(skip) {
  const found = new Set();
  const pending = [''];
  while (pending.length > 0) {
    const from = pending.pop();
    const { dependencies = {}, optionalDependencies = {} } = packages[from];
    for (const name of Object.keys({ ...dependencies, ...optionalDependencies })) {
      const at = name === skip ? undefined : resolve(from, name);
      if (at && !found.has(at) && !packages[at].dev) {
        found.add(at);
        pending.push(at);
      }
    }
  }
  return found;
}

const needed = reachable(INSTALL_TIME_ONLY);
const removed = [...reachable(undefined)].filter((at) => !needed.has(at));
for (const at of removed) rmSync(join(dir, at), { recursive: true, force: true });

const addon = join(dir, ADDON);
for (const sources of ['deps', 'src']) rmSync(join(addon, sources), { recursive: true, force: true });
for (const entry of readdirSync(join(addon, 'build'))) {
  if (entry !== 'Release') rmSync(join(addon, 'build', entry), { recursive: true });
}
for (const entry of readdirSync(join(addon, 'build', 'Release'))) {
  if (entry !== ADDON_FILE) rmSync(join(addon, 'build', 'Release', entry), { recursive: true });
}

/** Deletes never-loaded files below `at`, then `at` itself when that left it empty. */
function sweep(at) {
  for (const entry of readdirSync(at, { withFileTypes: true })) {
    const path = join(at, entry.name);
    if (entry.isDirectory()) sweep(path);
    else if (NEVER_LOADED.test(entry.name)) rmSync(path);
  }
  if (readdirSync(at).length === 0) rmSync(at, { recursive: true });
}
sweep(join(dir, 'node_modules'));

console.log(`trimmed node_modules: ${removed.map((at) => at.slice('node_modules/'.length)).join(', ')} and never-loaded files removed`);
