import { mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { missingFile, skipWithout } from './system.js';

/** Debian's chromium (`apt-get install chromium`), never a downloaded browser. */
const CHROMIUM = '/usr/bin/chromium';

/** Where page tests leave their screenshots (gitignored). */
export const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;

/** Set when chromium is missing: the browser tests are skipped, except in CI where that fails (system.ts). */
export const noChromium = skipWithout(missingFile(CHROMIUM, 'apt-get install chromium; .ci/run does'), 'the browser tests');

/** Headless chromium kept off the network: no updates, sync, QUIC or background requests of its own. */
export async function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
