import { describe, expect, it } from 'vitest';
import { skipWithout } from './support/system.js';
import { SECOND } from './support/app.js';
import { CALIBRE_WEB_ADMIN as ADMIN, calibreWebMissing, shownAsRead, sideBySide, webLogin } from './support/calibre-web.js';
import { BOOK1_EPUB, BOOK2_EPUB, BOOK5_EPUB, put } from './support/requests.js';

const beside = sideBySide();

describe.skipIf(skipWithout(calibreWebMissing(), 'the Read column tests with real Calibre-Web'))(
  "Calibre's Read column with real Calibre-Web 0.6.27 (config_read_column 1, the library's #read)",
  () => {
    it("a finished push shows the book as read on Calibre-Web's own book page; 40 % changes nothing; book 5 stays read", async () => {
      const { t, calibreWeb } = await beside.start({
        app: 'app-readcol.db',
        library: 'calibre-readcol',
        env: { KOSYNC_READ_COLUMN: 'true' },
        calibreWrites: true,
      });
      await t.app.ready();
      await t.library!.scanner.idle();
      const session = await webLogin(calibreWeb.origin, ADMIN.name, ADMIN.password);
      const shown = async () => [await shownAsRead(session, 1), await shownAsRead(session, 2), await shownAsRead(session, 5)];
      expect(await shown()).toEqual([false, false, true]);

      const push = (document: string, percentage: number) =>
        put(t.app, { document, progress: '/body/DocFragment[1].0', percentage, device: 'KOReader' }, ADMIN.basic);
      expect((await push(BOOK1_EPUB, 1)).statusCode).toBe(200);
      expect((await push(BOOK2_EPUB, 0.4)).statusCode).toBe(200);
      t.clock.advance(SECOND);
      expect((await push(BOOK5_EPUB, 0.4)).statusCode).toBe(200);
      expect(await shown()).toEqual([true, false, true]);
      expect(calibreWeb.output()).not.toMatch(/Traceback|Internal Server Error/);
    });
  },
);
