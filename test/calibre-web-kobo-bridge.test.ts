import { describe, expect, it } from 'vitest';
import { skipWithout } from './support/system.js';
import { fixedClock } from '../src/clock.js';
import { storedDatetimeToEpochSeconds } from '../src/db/datetime.js';
import { CALIBRE_WEB_ADMIN as ADMIN, calibreWebMissing, koboSyncReadingState, koboToken, sideBySide } from './support/calibre-web.js';
import { query } from './support/fixtures.js';
import { BOOK4, BOOK4_EPUB, get, json, put } from './support/requests.js';

/** Book 4's uuid in the fixture library: its Kobo entitlement id. */
const BOOK4_UUID = '01bc2f81-4eb5-482e-86b3-070e448fae4b';

const beside = sideBySide();

/**
 * The sidecar beside Calibre-Web with Kobo sync on, its wall clock set by the test (Calibre-Web stamps a
 * Kobo's writes with the real time), and book 4's bookmark as the admin's Kobo sync sends it.
 */
async function sidecar(env: Record<string, string>) {
  const clock = fixedClock((Date.now() - 120_000) * 1000);
  const { t, calibreWeb } = await beside.start({ env, clock }, { config_kobo_sync: 1 });
  const token = koboToken(t.files.appDb, ADMIN.id);
  const book4 = async () => (await koboSyncReadingState(calibreWeb, token, BOOK4_UUID))?.CurrentBookmark;
  return { t, calibreWeb, clock, book4, token };
}

describe.skipIf(skipWithout(calibreWebMissing(), 'the Kobo bridge tests with real Calibre-Web'))(
  'the Kobo bridge with real Calibre-Web 0.6.27 and its Kobo sync on the same app.db',
  () => {
    it('KOReader → Kobo → KOReader: the sync sends c4.xhtml, a Kobo state PUT at c7.xhtml, 63 % is pulled, a later push wins', async () => {
      const { t, calibreWeb, clock, book4, token } = await sidecar({ KOSYNC_KOBO_BRIDGE: 'true' });
      const push = (progress: string, percentage: number) =>
        put(t.app, { document: BOOK4_EPUB, progress, percentage, device: 'KOReader' }, ADMIN.basic);

      expect((await push('/body/DocFragment[5]/body/div/p[3]/text().17', 0.4)).statusCode).toBe(200);
      expect(await book4()).toEqual({
        LastModified: expect.any(String),
        ProgressPercent: 40,
        ContentSourceProgressPercent: 0,
        Location: { Value: 'kobo.1.1', Type: 'KoboSpan', Source: 'OEBPS/c4.xhtml' },
      });

      // The Kobo reads on to chapter 8 and reports its state, as Nickel does, through Calibre-Web.
      const state = await fetch(`${calibreWeb.origin}/kobo/${token}/v1/library/${BOOK4_UUID}/state`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          ReadingStates: [
            {
              EntitlementId: BOOK4_UUID,
              CurrentBookmark: {
                ProgressPercent: 63,
                ContentSourceProgressPercent: 20,
                Location: { Value: 'kobo.5.3', Type: 'KoboSpan', Source: 'OEBPS/c7.xhtml' },
              },
              Statistics: { SpentReadingMinutes: 42, RemainingTimeMinutes: 25 },
              StatusInfo: { Status: 'Reading' },
            },
          ],
        }),
      });
      expect(state.status).toBe(200);
      expect(await state.json()).toMatchObject({ RequestResult: 'Success' });
      const [bookmark] = query<{ last_modified: string }>(
        t.files.appDb,
        `SELECT b.last_modified FROM kobo_bookmark b JOIN kobo_reading_state s ON s.id = b.kobo_reading_state_id
       WHERE s.user_id = ? AND s.book_id = 4`,
        ADMIN.id,
      );
      expect(json(await get(t.app, BOOK4_EPUB, ADMIN.basic))).toEqual({
        document: BOOK4_EPUB,
        progress: '/body/DocFragment[8].0',
        percentage: 0.63,
        device: 'Kobo',
        timestamp: storedDatetimeToEpochSeconds(bookmark?.last_modified),
        ...BOOK4,
      });

      // KOReader reads on later: its push is the newest again, for KOReader and for the Kobo.
      clock.setWall((Date.now() + 60_000) * 1000);
      await push('/body/DocFragment[9]/body/p[1]/text().0', 0.7);
      expect(json(await get(t.app, BOOK4_EPUB, ADMIN.basic))).toMatchObject({
        progress: '/body/DocFragment[9]/body/p[1]/text().0',
        percentage: 0.7,
        device: 'KOReader',
      });
      expect(await book4()).toMatchObject({
        ProgressPercent: 70,
        Location: { Value: 'kobo.1.1', Type: 'KoboSpan', Source: 'OEBPS/c8.xhtml' },
      });
      expect(calibreWeb.output()).not.toMatch(/Traceback|Internal Server Error/);
    });

    it('with the bridge off, the sync sends the new percentage and no Location, as with CWA', async () => {
      const { t, book4 } = await sidecar({});
      const progress = '/body/DocFragment[5]/body/div/p[3]/text().17';
      await put(t.app, { document: BOOK4_EPUB, progress, percentage: 0.4, device: 'KOReader' }, ADMIN.basic);
      expect(await book4()).toEqual({ LastModified: expect.any(String), ProgressPercent: 40 });
    });
  },
);
