import { envSchema } from '../../src/config.js';
import { ERRORS } from '../../src/errors.js';

/**
 * The tables README.md and docs/PROTOCOL.md keep beside the code, and what the code says they must
 * hold (test/docs-drift.test.ts).
 */

/** README's Configuration table: each variable's Default cell, as written. */
export function configTable(readme: string): Map<string, string> {
  return new Map([...readme.matchAll(/^\| `(KOSYNC_[A-Z_]+)` \| (.*?) \| .* \|$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** What the Default cell of each variable must say: its fixed default as code, or the text the schema documents. */
export function schemaDefaults(): Map<string, string> {
  return new Map(
    Object.entries(envSchema.in.shape).map(([variable, schema]) => {
      const documented = (schema.meta() as { readmeDefault?: string } | undefined)?.readmeDefault;
      if (documented !== undefined) return [variable, documented];
      const def = schema._zod.def as { type: string; defaultValue?: unknown };
      if (def.type !== 'default') throw new Error(`${variable} has neither a default nor a documented one`);
      return [variable, `\`${String(def.defaultValue)}\``];
    }),
  );
}

/** The rows of a `| Code | Status | Message | When |` table: `code status message`, in order. */
export function errorTable(markdown: string): string[] {
  return [...markdown.matchAll(/^\| (\d{4}) \| (\d{3}) \| ([^|]+?) \| [^|]+ \|$/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
}

/** Every entry of src/errors.ts's table as `code status message`, in its order. */
export function errorEntries(): string[] {
  return Object.values(ERRORS).map((e) => `${e.code} ${e.status} ${e.message}`);
}

/** How two maps differ: keys on one side only, and keys whose values differ. */
export function mapDifferences(documented: ReadonlyMap<string, string>, actual: ReadonlyMap<string, string>): string[] {
  const keys = [...new Set([...documented.keys(), ...actual.keys()])].sort();
  return keys.flatMap((key) => {
    const [d, a] = [documented.get(key), actual.get(key)];
    if (d === a) return [];
    if (d === undefined) return [`${key}: missing from the table (the code says ${a})`];
    if (a === undefined) return [`${key}: in the table but not in the code`];
    return [`${key}: the table says ${d}, the code says ${a}`];
  });
}

/** How two lists of rows differ, whatever their order: rows on one side only. */
export function rowDifferences(documented: readonly string[], actual: readonly string[]): string[] {
  const missing = actual.filter((row) => !documented.includes(row)).map((row) => `missing from the table: ${row}`);
  const extra = documented.filter((row) => !actual.includes(row)).map((row) => `in the table but not in the code: ${row}`);
  return [...missing, ...extra];
}
