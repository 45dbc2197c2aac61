import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from './support/app.js';
import { query } from './support/fixtures.js';
import { ARTIFACTS, launchChromium, noChromium } from './support/browser.js';

let t: TestApp;
let browser: Browser;
let pageUrl: string;

beforeAll(async () => {
  if (noChromium) return;
  t = await testApp({ env: { KOSYNC_RECORD_KEYS_ON_LOGIN: 'false' } });
  pageUrl = `${await t.app.listen({ host: '127.0.0.1', port: 0 })}/kosync`;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe.skipIf(noChromium)('the setup page in headless Chromium', () => {
  it('enables KOReader sync by filling in and submitting the form, without JavaScript', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    expect((await page.goto(pageUrl))?.status()).toBe(200);
    await expect(page.locator('#server-url').textContent()).resolves.toBe(pageUrl);
    await page.screenshot({ path: `${ARTIFACTS}page-light-phone.png`, fullPage: true });

    await page.locator('#enable + p + form').getByLabel('Username').fill('dave');
    await page.locator('#enable + p + form').getByLabel('Password').fill('oldtimer');
    const [response] = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Enable KOReader sync' }).click()]);
    expect(response?.status()).toBe(200);
    expect(page.url()).toBe(`${pageUrl}/enable`);
    await expect(page.getByRole('status').textContent()).resolves.toContain('KOReader sync enabled for dave');
    await page.screenshot({ path: `${ARTIFACTS}page-enabled-phone.png`, fullPage: true });
    expect(query(t.files.stateDb, 'SELECT user_id, user_name FROM sync_keys')).toEqual([{ user_id: 6, user_name: 'dave' }]);

    expect(problems).toEqual([]); // e.g. a style blocked by the Content-Security-Policy

    // The page shown after submitting posts to the same place again.
    await page.locator('#enable + p + form').getByLabel('Username').fill('dave');
    await page.locator('#enable + p + form').getByLabel('Password').fill('wrong');
    const [again] = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Enable KOReader sync' }).click()]);
    expect(again?.status()).toBe(403);
    await expect(page.getByRole('alert').textContent()).resolves.toBe('Wrong username or password.');
    await context.close();
  });

  it('has a dark look when the system asks for one', async () => {
    const context = await browser.newContext({ colorScheme: 'dark', viewport: { width: 1024, height: 900 } });
    const page = await context.newPage();
    await page.goto(pageUrl);
    const background = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(background).toBe('rgb(23, 22, 20)');
    await page.screenshot({ path: `${ARTIFACTS}page-dark-desktop.png`, fullPage: true });
    await context.close();
  });
});
