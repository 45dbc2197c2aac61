import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { partialMd5OfBuffer } from '../src/checksums/partial-md5.js';
import { basic, testApp, type TestApp } from './support/app.js';
import { type CalibreWeb, calibreWebMissing, startCalibreWeb, webLogin } from './support/calibre-web.js';
import { query, tableRows } from './support/fixtures.js';
import { type Nginx, nginxMissing, snippetWithDownloadTap, startNginx } from './support/nginx.js';
import { freePort, listenOnLoopback } from './support/ports.js';
import { missingFile, skipWithout } from './support/system.js';

const ADMIN = basic('admin', 'admin123');
const HOST = 'books.example';
const BOOK1_FILE = 'Mara Ellison/The Quiet Lighthouse (1)/The Quiet Lighthouse - Mara Ellison.epub';
const BOOK2_FILE = 'Tobias Renn/Gears of the Clockwork City (2)/Gears of the Clockwork City - Tobias Renn.epub';

let t: TestApp | undefined;
let calibreWeb: CalibreWeb | undefined;
let nginx: Nginx | undefined;
afterEach(async () => {
  await nginx?.stop();
  await calibreWeb?.stop();
  await t?.close();
  t = calibreWeb = nginx = undefined;
});

const missing =
  calibreWebMissing() ??
  nginxMissing() ??
  missingFile('/usr/bin/calibredb', "apt-get install calibre (Calibre-Web's embed-metadata step); .ci/run does");

describe.skipIf(skipWithout(missing, 'the download tap tests with real Calibre-Web and nginx'))(
  'downloads from real Calibre-Web 0.6.27, embedding metadata with calibre, through nginx and the download tap',
  () => {
    it('matches books downloaded over OPDS (Basic) and from the web page (a session), bytes unlike the library file', async () => {
      const calibreWebPort = await freePort();
      t = await testApp({
        library: 'calibre',
        env: { KOSYNC_CALIBRE_WEB_URL: `http://127.0.0.1:${calibreWebPort}`, KOSYNC_TRUST_PROXY: '127.0.0.1' },
      });
      const sidecarPort = await listenOnLoopback(t.app);
      await t.library!.scanner.idle();
      calibreWeb = await startCalibreWeb({
        appDb: t.files.appDb,
        library: t.files.library!,
        port: calibreWebPort,
        // Calibre-Web runs calibre's `calibredb export` on every download (Debian's calibre in /usr/bin).
        settings: { config_binariesdir: '/usr/bin', config_embed_metadata: 1 },
      });
      const prefix = join(t.files.dir, 'nginx');
      mkdirSync(prefix);
      nginx = await startNginx({
        prefix,
        sidecarPort,
        serverName: HOST,
        server: [`include ${snippetWithDownloadTap(prefix)};`, `location / { proxy_pass http://127.0.0.1:${calibreWebPort}; }`],
      });
      const origin = `http://127.0.0.1:${nginx.port}`;
      const library = (file: string) => readFileSync(join(t!.files.library!, file));

      // KOReader's OPDS browser: HTTP Basic.
      const opds = await fetch(`${origin}/opds/download/1/epub/`, { headers: ADMIN });
      expect(opds.status).toBe(200);
      const viaOpds = Buffer.from(await opds.arrayBuffer());
      // A browser: Calibre-Web's login form, then the book page's download link.
      const session = await webLogin(origin, 'admin', 'admin123');
      const page = await session.fetch('/download/2/epub/Gears%20of%20the%20Clockwork%20City%20-%20Tobias%20Renn.epub');
      expect(page.status).toBe(200);
      const viaPage = Buffer.from(await page.arrayBuffer());

      const received = [
        { book: 1, bytes: viaOpds, file: library(BOOK1_FILE), title: 'The Quiet Lighthouse' },
        { book: 2, bytes: viaPage, file: library(BOOK2_FILE), title: 'Gears of the Clockwork City' },
      ];
      for (const { bytes, file } of received) {
        expect(bytes.equals(file)).toBe(false);
        expect(partialMd5OfBuffer(bytes)).not.toBe(partialMd5OfBuffer(file));
      }
      await vi.waitFor(() => expect(query(t!.files.stateDb, "SELECT 1 FROM document_ids WHERE method = 'download'")).toHaveLength(2));

      for (const { book, bytes, title } of received) {
        const document = partialMd5OfBuffer(bytes);
        const pushed = await fetch(`${origin}/kosync/syncs/progress`, {
          method: 'PUT',
          headers: { ...ADMIN, 'content-type': 'application/json' },
          body: JSON.stringify({ document, progress: '/body/DocFragment[2].0', percentage: 0.5, device: 'KOReader' }),
        });
        expect(pushed.status).toBe(200);
        expect(await pushed.json()).toEqual({
          document,
          timestamp: expect.any(Number),
          calibre_book_id: book,
          calibre_book_title: title,
          calibre_book_format: 'EPUB',
          calibre_checksum_version: 'koreader',
        });
      }
      expect(tableRows(t.files.appDb, 'book_read_link').map((r) => [r.user_id, r.book_id, r.read_status])).toEqual([
        [1, 1, 2],
        [1, 2, 2],
      ]);
      const states = tableRows(t.files.appDb, 'kobo_reading_state');
      expect(states.map((r) => [r.user_id, r.book_id])).toEqual([
        [1, 1],
        [1, 2],
      ]);
      expect(tableRows(t.files.appDb, 'kobo_bookmark').map((r) => [r.kobo_reading_state_id, r.progress_percent])).toEqual(
        states.map((s) => [s.id, 50]),
      );
      expect(tableRows(t.files.appDb, 'kobo_statistics').map((r) => r.kobo_reading_state_id)).toEqual(states.map((s) => s.id));
      expect(calibreWeb.output()).not.toMatch(/Traceback|Internal Server Error/);
    });
  },
);
