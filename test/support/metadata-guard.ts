import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

/** sha256 of a file's bytes. */
export function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function metadataDbs(): string[] {
  return (readdirSync(FIXTURES, { recursive: true }) as string[]).filter((p) => p.endsWith('metadata.db')).sort();
}

/**
 * vitest globalSetup: the fixture metadata.db files are byte-identical after the whole suite. The temp
 * copies tests work on are checked in `copyFixtures().remove()` (test/support/fixtures.ts).
 */
export default function setup(): () => void {
  const before = new Map(metadataDbs().map((p) => [p, fileHash(join(FIXTURES, p))]));
  return () => {
    const changed = metadataDbs().filter((p) => before.get(p) !== fileHash(join(FIXTURES, p)));
    if (changed.length > 0) throw new Error(`fixture metadata.db changed during the test run: ${changed.join(', ')}`);
  };
}
