import { afterEach, describe, expect, it } from 'vitest';
import { epochAt, SECOND, testApp, type TestApp } from './support/app.js';
import { cli } from './support/cli.js';
import { BOOK1_EPUB, ERIN, put } from './support/requests.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const DOC = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';

describe('calibre-web-kosync documents --user NAME', () => {
  it('prints the account API’s list for that user: a table, or its JSON with --json', async () => {
    t = await testApp();
    await t.app.ready();
    await t.library!.scanner.idle();
    await put(t.app, { document: BOOK1_EPUB, progress: '/body/DocFragment[4]', percentage: 0.25, device: 'Kobo', device_id: 'K1' });
    t.clock.advance(SECOND);
    await put(t.app, { document: DOC, progress: '3', percentage: 0.5, device: 'Phone' });
    await put(t.app, { document: DOC, progress: '9', percentage: 0.9, device: 'Phone' }, ERIN);
    const env = {
      KOSYNC_APP_DB: t.files.appDb,
      KOSYNC_STATE_DB: t.files.stateDb,
      KOSYNC_LIBRARY: t.files.library!,
      KOSYNC_SCAN_INTERVAL: '0',
    };
    const api = await t.app.inject({
      method: 'GET',
      url: '/kosync/api/v1/documents',
      headers: { authorization: `Basic ${Buffer.from('dave:oldtimer').toString('base64')}` },
    });

    const json = await cli(['documents', '--user', 'DAVE', '--json'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(api.body));
    expect(JSON.parse(json.stdout)).toMatchObject({ documents: [{ document: DOC, timestamp: epochAt(1) }, { document: BOOK1_EPUB }] });

    const text = await cli(['documents', '--user', 'dave'], env);
    expect([text.code, text.stderr]).toEqual([0, '']);
    expect(text.stdout).toBe(
      [
        'DOCUMENT                          BOOK                                 FORMAT  MATCH  POSITION  DEVICE     WHEN',
        `${DOC}  not matched: metadata-absent         -       -      50 %      Phone      2026-11-28 15:21 UTC`,
        `${BOOK1_EPUB}  The Quiet Lighthouse (Mara Ellison)  EPUB    cwa    25 %      Kobo (K1)  2026-11-28 15:21 UTC`,
        '',
      ].join('\n'),
    );
  });

  it('names a user it cannot find (exit 1) and explains its usage (exit 2)', async () => {
    t = await testApp();
    const env = { KOSYNC_APP_DB: t.files.appDb, KOSYNC_STATE_DB: t.files.stateDb, KOSYNC_LIBRARY: t.files.library! };
    expect(await cli(['documents', '--user', 'nobody'], env)).toEqual({ code: 1, stdout: '', stderr: 'No Calibre-Web user "nobody".\n' });
    expect(await cli(['documents'], env)).toEqual({
      code: 2,
      stdout: '',
      stderr: 'Usage: calibre-web-kosync documents --user <name> [--json]\n',
    });
    expect((await cli(['keys', 'list', '--user', 'dave'], env)).code).toBe(2);
  });
});
