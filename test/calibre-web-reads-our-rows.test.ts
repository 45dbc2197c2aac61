import { describe, expect, it } from 'vitest';
import { skipWithout } from './support/system.js';
import {
  CALIBRE_WEB_ADMIN as ADMIN,
  calibreWebMissing,
  koboSyncReadingState,
  koboToken,
  shownAsRead,
  sideBySide,
  webLogin,
} from './support/calibre-web.js';
import { BOOK1, BOOK1_EPUB, json, put } from './support/requests.js';

/** Book 1's uuid in the fixture library: its Kobo entitlement id. */
const BOOK1_UUID = 'd4c0c785-fce3-4a26-84c2-f96145802e29';

const beside = sideBySide();

describe.skipIf(skipWithout(calibreWebMissing(), 'the tests with real Calibre-Web'))(
  'real Calibre-Web 0.6.27 on the app.db this server writes',
  () => {
    it('shows a book finished in KOReader as read on its book page and as Finished, 100 % in its Kobo sync', async () => {
      const { t, calibreWeb } = await beside.start({}, { config_kobo_sync: 1 });

      const pushed = await put(
        t.app,
        { document: BOOK1_EPUB, progress: '/body/DocFragment[12].0', percentage: 1, device: 'KOReader' },
        ADMIN.basic,
      );
      expect(json(pushed)).toEqual({ document: BOOK1_EPUB, timestamp: expect.any(Number), ...BOOK1 });

      const session = await webLogin(calibreWeb.origin, ADMIN.name, ADMIN.password);
      expect(await shownAsRead(session, 1)).toBe(true);

      const book1 = await koboSyncReadingState(calibreWeb, koboToken(t.files.appDb, ADMIN.id), BOOK1_UUID);
      expect(book1?.StatusInfo.Status).toBe('Finished');
      expect(book1?.CurrentBookmark.ProgressPercent).toBe(100);
      expect(calibreWeb.output()).not.toMatch(/Traceback|Internal Server Error/);
    });
  },
);
