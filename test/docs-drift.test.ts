import { describe, expect, it } from 'vitest';
import { configTable, errorEntries, errorTable, mapDifferences, rowDifferences, schemaDefaults } from './support/doc-tables.js';
import { readProjectFile } from './support/source-files.js';

const readme = readProjectFile('README.md');
const protocol = readProjectFile('docs/PROTOCOL.md');

describe('README and docs/ agree with the code', () => {
  it("README's Configuration table lists every variable of the config schema with its default", () => {
    expect(mapDifferences(configTable(readme), schemaDefaults())).toEqual([]);
  });

  it("README's error list and docs/PROTOCOL.md's error table are src/errors.ts's table", () => {
    expect(rowDifferences(errorTable(readme), errorEntries())).toEqual([]);
    expect(rowDifferences(errorTable(protocol), errorEntries())).toEqual([]);
    expect(errorTable(readme)).toHaveLength(errorEntries().length);
  });

  it('see a difference the moment README and the code disagree', () => {
    const drifted = readme
      .replace('| `KOSYNC_PORT` | `8084` |', '| `KOSYNC_PORT` | `8085` |')
      .replace(/^\| `KOSYNC_SCAN_INTERVAL` .*\n/m, '')
      .replace('| 2001 | 429 | Too many failed logins, try again later |', '| 2001 | 429 | Slow down |');
    expect(mapDifferences(configTable(drifted), schemaDefaults())).toEqual([
      'KOSYNC_PORT: the table says `8085`, the code says `8084`',
      'KOSYNC_SCAN_INTERVAL: missing from the table (the code says `600`)',
    ]);
    expect(rowDifferences(errorTable(drifted), errorEntries())).toEqual([
      'missing from the table: 2001 429 Too many failed logins, try again later',
      'in the table but not in the code: 2001 429 Slow down',
    ]);
  });
});
