import { afterEach, describe, expect, it } from 'vitest';
import { basic, testApp, type TestApp } from './support/app.js';
import { koboToken, shownAsRead, startCalibreWeb, webLogin, type CalibreWeb } from './support/calibre-web.js';
import { BOOK1, BOOK1_EPUB, json, put } from './support/requests.js';

const ADMIN = basic('admin', 'admin123');

let t: TestApp | undefined;
let calibreWeb: CalibreWeb | undefined;
afterEach(async () => {
  await calibreWeb?.stop();
  await t?.close();
  calibreWeb = t = undefined;
});

interface KoboSyncEntry {
  NewEntitlement?: { BookMetadata: { Title: string }; ReadingState?: KoboReadingState };
  ChangedReadingState?: { ReadingState: KoboReadingState };
}
interface KoboReadingState {
  StatusInfo: { Status: string };
  CurrentBookmark: { ProgressPercent?: number };
}

describe('real Calibre-Web 0.6.27 on the app.db this server writes', () => {
  it('shows a book finished in KOReader as read on its book page and as Finished, 100 % in its Kobo sync', async () => {
    t = await testApp();
    calibreWeb = await startCalibreWeb({ appDb: t.files.appDb, library: t.files.library!, settings: { config_kobo_sync: 1 } });

    const pushed = await put(
      t.app,
      { document: BOOK1_EPUB, progress: '/body/DocFragment[12].0', percentage: 1, device: 'KOReader' },
      ADMIN,
    );
    expect(json(pushed)).toEqual({ document: BOOK1_EPUB, timestamp: expect.any(Number), ...BOOK1 });

    const session = await webLogin(calibreWeb.origin, 'admin', 'admin123');
    expect(await shownAsRead(session, 1)).toBe(true);

    const sync = await fetch(`${calibreWeb.origin}/kobo/${koboToken(t.files.appDb, 1)}/v1/library/sync`);
    expect(sync.status).toBe(200);
    const entries = (await sync.json()) as KoboSyncEntry[];
    const book1 = entries.find((e) => e.NewEntitlement?.BookMetadata.Title === 'The Quiet Lighthouse')?.NewEntitlement?.ReadingState;
    expect(book1?.StatusInfo.Status).toBe('Finished');
    expect(book1?.CurrentBookmark.ProgressPercent).toBe(100);
    expect(calibreWeb.output()).not.toMatch(/Traceback|Internal Server Error/);
  });
});
