import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECOND, testApp, type TestApp } from './support/app.js';
import { DAVE_ID, query } from './support/fixtures.js';
import { BOOK1_EPUB, put } from './support/requests.js';
import { ARTIFACTS, launchChromium, noChromium } from './support/browser.js';

const DOC = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';

let t: TestApp;
let browser: Browser;
let pageUrl: string;

async function push(document: string, percent: number, device: string) {
  const body = { document, progress: `/body/DocFragment[${percent}]`, percentage: percent / 100, device, device_id: `${device}-ID` };
  expect((await put(t.app, body)).statusCode).toBe(200);
  t.clock.advance(60 * SECOND);
}

beforeAll(async () => {
  if (noChromium) return;
  t = await testApp();
  await t.app.ready();
  await t.library!.scanner.idle();
  pageUrl = `${await t.app.listen({ host: '127.0.0.1', port: 0 })}/kosync`;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe.skipIf(noChromium)('the account page in headless Chromium, without JavaScript', () => {
  it('signs in, shows the synced books, restores an older position and links an unmatched document (desktop and phone)', async () => {
    await push(BOOK1_EPUB, 10, 'Kobo');
    await push(BOOK1_EPUB, 40, 'Phone');
    await push(DOC, 5, 'Phone');
    for (const [name, viewport] of [
      ['desktop', { width: 1280, height: 900 }],
      ['phone', { width: 390, height: 844 }],
    ] as const) {
      const context = await browser.newContext({ javaScriptEnabled: false, viewport, deviceScaleFactor: name === 'phone' ? 2 : 1 });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      await page.goto(pageUrl);
      const signIn = page.locator('#signin + p + form');
      await signIn.getByLabel('Username').fill('dave');
      await signIn.getByLabel('Password').fill('oldtimer');
      await Promise.all([page.waitForNavigation(), signIn.getByRole('button', { name: 'Sign in' }).click()]);
      expect(page.url()).toBe(`${pageUrl}/`);
      await expect(page.locator('#account + p').textContent()).resolves.toBe('Signed in as dave.');
      await expect(page.locator('article.document h3').allTextContents()).resolves.toEqual(
        name === 'desktop'
          ? ['Not matched to a library book', 'The Quiet Lighthouse']
          : ['The Quiet Lighthouse', 'Gears of the Clockwork City'], // restored: the Lighthouse is the newest now,
      );
      await page.screenshot({ path: `${ARTIFACTS}account-${name}.png`, fullPage: true });

      if (name === 'desktop') {
        // Restore Kobo's 10 % from the Lighthouse's history.
        const lighthouse = page.locator('article.document', { hasText: 'The Quiet Lighthouse' });
        await lighthouse.locator('summary').click();
        const kobo = lighthouse.locator('ol.history li', { hasText: 'Kobo' });
        await Promise.all([page.waitForNavigation(), kobo.getByRole('button', { name: 'Restore' }).click()]);
        await expect(
          page.locator('article.document', { hasText: 'The Quiet Lighthouse' }).locator('p strong').first().textContent(),
        ).resolves.toBe('10 %');
        expect(query(t.files.appDb, 'SELECT percentage, device FROM kosync_progress WHERE document = ?', BOOK1_EPUB)).toEqual([
          { percentage: 10, device: 'Kobo' },
        ]);

        // Link the unmatched document: search, then pick the book.
        const unmatched = page.locator('article.document', { hasText: 'Not matched' });
        await unmatched.getByLabel('Link to a library book').fill('clockwork');
        await Promise.all([page.waitForNavigation(), unmatched.getByRole('button', { name: 'Search' }).click()]);
        const found = page
          .locator('article.document', { hasText: 'Not matched' })
          .locator('li', { hasText: 'Gears of the Clockwork City' });
        await Promise.all([page.waitForNavigation(), found.getByRole('button', { name: 'Link to this book' }).click()]);
        expect(query(t.files.stateDb, 'SELECT user_id, document, book_id FROM document_links')).toEqual([
          { user_id: DAVE_ID, document: DOC, book_id: 2 },
        ]);
        await page.screenshot({ path: `${ARTIFACTS}account-desktop-after.png`, fullPage: true });
      }
      expect(problems).toEqual([]);
      await context.close();
    }
  });
});
