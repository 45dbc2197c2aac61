import { dirname, join, normalize } from 'node:path';

/** The entries of a README's `May import:` line (`nothing` is none), or undefined without one. */
export function mayImport(readme: string): string[] | undefined {
  const line = /^May import: (.*)$/m.exec(readme)?.[1];
  return line === undefined ? undefined : [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
}

/** The rows of src/README.md's table of top-level files: file name → what it may import. */
export function topLevelRules(readme: string): Map<string, string[]> {
  const rules = new Map<string, string[]>();
  for (const [, file, allowed] of readme.matchAll(/^\| `([\w-]+\.ts)` \|[^|]*\| (.*) \|$/gm)) {
    rules.set(
      file!,
      [...allowed!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!),
    );
  }
  return rules;
}

/** Every module a TypeScript file imports or re-exports, static or dynamic, as written. */
export function importsOf(source: string): string[] {
  const statements = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]*?\s*from\s*)?['"]([^'"]+)['"]/g;
  const dynamic = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
  return [...source.matchAll(statements), ...source.matchAll(dynamic)].map((m) => m[1]!);
}

/**
 * Problems of one file of src/ (`file` relative to src/): every relative import must stay in the
 * file's own folder or reach a part its rules allow. `rulesFor` gives the rules of a folder (by its
 * path relative to src/) or of a top-level file (by its name).
 */
export function importProblems(file: string, source: string, rulesFor: (owner: string) => readonly string[] | undefined): string[] {
  const folder = dirname(file) === '.' ? '' : dirname(file);
  const owner = folder === '' ? file : folder;
  const allowed = rulesFor(owner);
  if (!allowed) return [`src/${file}: no import rules for ${folder === '' ? file : `src/${folder}/`} (a README's "May import:" line)`];
  const problems: string[] = [];
  for (const specifier of importsOf(source)) {
    if (!specifier.startsWith('.')) continue; // node and npm packages
    const target = normalize(join(folder, specifier)).replace(/\.js$/, '.ts');
    const inOwnFolder = folder !== '' && target.startsWith(`${folder}/`);
    const permitted = allowed.some((entry) => (entry.endsWith('/') ? target.startsWith(entry) : target === entry));
    if (!inOwnFolder && !permitted) problems.push(`src/${file} imports src/${target}, which ${owner}'s rules do not allow`);
  }
  return problems;
}
