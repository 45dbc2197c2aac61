import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { copyFixtures } from './support/fixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'kosync-startup-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function run(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await main({ argv: ['serve'], env: { KOSYNC_PORT: '0', KOSYNC_LOG_LEVEL: 'silent', ...env }, stdout, stderr });
  return { code, stderr: err };
}

describe('start-up with a configured path that is wrong', () => {
  it('stops with an error naming a missing app.db, and never falls back to the demo', async () => {
    const missing = join(scratch, 'nowhere', 'app.db');
    const result = await run({ KOSYNC_APP_DB: missing });
    expect(result).toEqual({
      code: 1,
      stderr: `calibre-web-kosync: app.db not found: ${missing} (set KOSYNC_APP_DB to Calibre-Web's app.db)\n`,
    });
  });

  it("stops with an error when the file is not Calibre-Web's app.db", async () => {
    const notCalibreWeb = join(scratch, 'other.db');
    writeFileSync(notCalibreWeb, '');
    const result = await run({ KOSYNC_APP_DB: notCalibreWeb });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`not Calibre-Web's app.db: ${notCalibreWeb} has no table user, book_read_link`);
  });

  it('stops with an error naming a library folder that does not exist', async () => {
    const files = copyFixtures();
    try {
      const result = await run({ KOSYNC_APP_DB: files.appDb, KOSYNC_LIBRARY: join(scratch, 'no-library') });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`Calibre library folder not found: ${join(scratch, 'no-library')}`);
    } finally {
      files.remove();
    }
  });

  it('stops with an error naming a bad variable', async () => {
    const result = await run({ KOSYNC_APP_DB: join(scratch, 'app.db'), KOSYNC_PORT: 'x' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('KOSYNC_PORT: must be a whole number (got "x")');
  });
});
