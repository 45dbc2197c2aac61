import { afterEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../src/clock.js';
import { storedDatetimeToEpochSeconds } from '../src/db/datetime.js';
import { basic, testApp, type TestApp } from './support/app.js';
import { type CalibreWeb, koboToken, startCalibreWeb } from './support/calibre-web.js';
import { query } from './support/fixtures.js';
import { BOOK4, BOOK4_EPUB, get, json, put } from './support/requests.js';

const ADMIN = basic('admin', 'admin123');
const ADMIN_ID = 1;
/** Book 4's uuid in the fixture library: its Kobo entitlement id. */
const BOOK4_UUID = '01bc2f81-4eb5-482e-86b3-070e448fae4b';

let t: TestApp | undefined;
let calibreWeb: CalibreWeb | undefined;
afterEach(async () => {
  await calibreWeb?.stop();
  await t?.close();
  calibreWeb = t = undefined;
});

interface KoboReadingState {
  EntitlementId: string;
  CurrentBookmark: {
    ProgressPercent?: number;
    ContentSourceProgressPercent?: number;
    Location?: { Value: string; Type: string; Source: string };
  };
}
interface KoboSyncEntry {
  NewEntitlement?: { BookMetadata: { Title: string }; ReadingState?: KoboReadingState };
  ChangedEntitlement?: { BookMetadata: { Title: string }; ReadingState?: KoboReadingState };
  ChangedReadingState?: { ReadingState: KoboReadingState };
}

/** Calibre-Web's Kobo sync for `token`, as a Kobo asks it with no sync token: book 4's reading state in it. */
async function book4InKoboSync(token: string): Promise<KoboReadingState | undefined> {
  const sync = await fetch(`${calibreWeb!.origin}/kobo/${token}/v1/library/sync`);
  expect(sync.status).toBe(200);
  const entries = (await sync.json()) as KoboSyncEntry[];
  return entries
    .map((e) => e.NewEntitlement?.ReadingState ?? e.ChangedEntitlement?.ReadingState ?? e.ChangedReadingState?.ReadingState)
    .find((state) => state?.EntitlementId === BOOK4_UUID);
}

/** The sidecar on the fixtures with a wall clock the test sets (Calibre-Web stamps the Kobo's writes with the real time). */
async function sidecar(env: Record<string, string>) {
  const clock = fixedClock((Date.now() - 120_000) * 1000);
  t = await testApp({ env, clock });
  calibreWeb = await startCalibreWeb({ appDb: t.files.appDb, library: t.files.library!, settings: { config_kobo_sync: 1 } });
  return clock;
}

describe('the Kobo bridge with real Calibre-Web 0.6.27 and its Kobo sync on the same app.db', () => {
  it('KOReader → Kobo → KOReader: the sync sends c4.xhtml, a Kobo state PUT at c7.xhtml, 63 % is pulled, a later push wins', async () => {
    const clock = await sidecar({ KOSYNC_KOBO_BRIDGE: 'true' });
    const token = koboToken(t!.files.appDb, ADMIN_ID);

    const pushed = await put(
      t!.app,
      { document: BOOK4_EPUB, progress: '/body/DocFragment[5]/body/div/p[3]/text().17', percentage: 0.4, device: 'KOReader' },
      ADMIN,
    );
    expect(pushed.statusCode).toBe(200);
    expect((await book4InKoboSync(token))?.CurrentBookmark).toEqual({
      LastModified: expect.any(String),
      ProgressPercent: 40,
      ContentSourceProgressPercent: 0,
      Location: { Value: 'kobo.1.1', Type: 'KoboSpan', Source: 'OEBPS/c4.xhtml' },
    });

    // The Kobo reads on to chapter 8 and reports its state, as Nickel does, through Calibre-Web.
    const state = await fetch(`${calibreWeb!.origin}/kobo/${token}/v1/library/${BOOK4_UUID}/state`, {
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
      t!.files.appDb,
      `SELECT b.last_modified FROM kobo_bookmark b JOIN kobo_reading_state s ON s.id = b.kobo_reading_state_id
       WHERE s.user_id = ? AND s.book_id = 4`,
      ADMIN_ID,
    );
    const pulled = await get(t!.app, BOOK4_EPUB, ADMIN);
    expect(json(pulled)).toEqual({
      document: BOOK4_EPUB,
      progress: '/body/DocFragment[8].0',
      percentage: 0.63,
      device: 'Kobo',
      timestamp: storedDatetimeToEpochSeconds(bookmark?.last_modified),
      ...BOOK4,
    });

    // KOReader reads on later: its push is the newest again, for KOReader and for the Kobo.
    clock.setWall((Date.now() + 60_000) * 1000);
    await put(
      t!.app,
      { document: BOOK4_EPUB, progress: '/body/DocFragment[9]/body/p[1]/text().0', percentage: 0.7, device: 'KOReader' },
      ADMIN,
    );
    expect(json(await get(t!.app, BOOK4_EPUB, ADMIN))).toMatchObject({
      progress: '/body/DocFragment[9]/body/p[1]/text().0',
      percentage: 0.7,
      device: 'KOReader',
    });
    expect((await book4InKoboSync(token))?.CurrentBookmark).toMatchObject({
      ProgressPercent: 70,
      Location: { Value: 'kobo.1.1', Type: 'KoboSpan', Source: 'OEBPS/c8.xhtml' },
    });
    expect(calibreWeb!.output()).not.toMatch(/Traceback|Internal Server Error/);
  });

  it('with the bridge off, the sync sends the new percentage and no Location, as with CWA', async () => {
    await sidecar({});
    const token = koboToken(t!.files.appDb, ADMIN_ID);
    await put(
      t!.app,
      { document: BOOK4_EPUB, progress: '/body/DocFragment[5]/body/div/p[3]/text().17', percentage: 0.4, device: 'KOReader' },
      ADMIN,
    );
    expect((await book4InKoboSync(token))?.CurrentBookmark).toEqual({ LastModified: expect.any(String), ProgressPercent: 40 });
  });
});
