/**
 * The download tap's cost (issue 13): a 200 MiB book downloaded from real Calibre-Web 0.6.27 straight,
 * and through the sidecar's download tap, alternately in one run; the sidecar's resident memory before,
 * at its peak during the tap's downloads, and after; and that the tap recorded the file's KOReader id.
 *
 *   npm run bench:download [-- --mib N] [-- --rounds N]
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PartialMd5Sampler } from '../src/checksums/partial-md5.js';
import { startCalibreWeb } from '../test/support/calibre-web.js';
import { describeMachine } from './machine.js';
import { copyFixtures, memoryOf, startSidecar } from './servers.js';

const argument = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const MIB = argument('--mib', 200);
const ROUNDS = argument('--rounds', 3);
/** Book 4's EPUB in the fixture library, replaced by the big file. */
const BIG_BOOK = 'Priya Natarajan/A Field Guide to Small Birds (4)/A Field Guide to Small Birds - Priya Natarajan.epub';
const ADMIN = `Basic ${Buffer.from('admin:admin123').toString('base64')}`;
const RSS_EVERY_MS = 10;

/** Writes `mib` MiB of bytes that are not all alike (byte i is i·7 + ⌊i/251⌋ mod 256), 1 MiB at a time. */
function writeBigFile(path: string, mib: number): string {
  const chunk = Buffer.alloc(1 << 20);
  const sampler = new PartialMd5Sampler();
  const fd = openSync(path, 'w');
  try {
    for (let m = 0; m < mib; m++) {
      for (let i = 0; i < chunk.length; i++) {
        const at = m * chunk.length + i;
        chunk[i] = (at * 7 + Math.floor(at / 251)) & 0xff;
      }
      writeSync(fd, chunk);
      sampler.update(chunk);
    }
  } finally {
    closeSync(fd);
  }
  return sampler.digest();
}

/** Downloads `url` to nowhere; the time from asking to the last byte, and how many bytes came. */
function download(url: string): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    get(url, { headers: { authorization: ADMIN } }, (response) => {
      let bytes = 0;
      if (response.statusCode !== 200) reject(new Error(`${url} answered ${response.statusCode}`));
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      response.on('end', () => resolve({ ms: performance.now() - started, bytes }));
      response.on('error', reject);
    }).on('error', reject);
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const mib = (value: number) => value.toFixed(1);

async function main(): Promise<void> {
  const files = copyFixtures('download');
  const expected = writeBigFile(join(files.library, BIG_BOOK), MIB);
  const calibreWeb = await startCalibreWeb({
    appDb: files.appDb,
    library: files.library,
    // No metadata embedded: both ways serve the same file, so the difference is the tap alone.
    settings: { config_embed_metadata: 0, config_binariesdir: '' },
  });
  const sidecar = await startSidecar(files, { env: { KOSYNC_CALIBRE_WEB_URL: calibreWeb.origin, KOSYNC_SCAN_INTERVAL: '0' } });
  try {
    const path = '/opds/download/4/epub/';
    // Warm both ways (connections, code paths) with the small book 1.
    await download(`${calibreWeb.origin}/opds/download/1/epub/`);
    await download(`${sidecar.origin}/opds/download/1/epub/`);
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const before = memoryOf(sidecar.pid);
    let peak = before.rss;
    const sampler = setInterval(() => {
      peak = Math.max(peak, memoryOf(sidecar.pid).rss);
    }, RSS_EVERY_MS);
    const direct: number[] = [];
    const tapped: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const straight = await download(`${calibreWeb.origin}${path}`);
      const through = await download(`${sidecar.origin}${path}`);
      if (straight.bytes !== MIB * 2 ** 20 || through.bytes !== MIB * 2 ** 20) throw new Error('a download came short');
      direct.push(straight.ms);
      tapped.push(through.ms);
    }
    clearInterval(sampler);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = memoryOf(sidecar.pid);

    const state = new Database(join(files.dir, 'kosync.db'), { readonly: true });
    const recorded = state
      .prepare(`SELECT document FROM document_ids WHERE method = 'download' AND book_id = 4 AND format = 'EPUB'`)
      .all() as { document: string }[];
    state.close();

    console.log(describeMachine().join('\n'));
    console.log(`calibre-web: 0.6.27 (${calibreWeb.origin}), book of ${MIB} MiB, ${ROUNDS} rounds of: straight, then through the tap\n`);
    console.log('| Download | Round times (s) | Median (s) | MiB/s (median) |');
    console.log('| --- | --- | ---: | ---: |');
    for (const [name, times] of [
      ['straight from Calibre-Web', direct],
      ['through the download tap', tapped],
    ] as const) {
      const m = median(times);
      console.log(
        `| ${name} | ${times.map((t) => (t / 1000).toFixed(2)).join(', ')} | ${(m / 1000).toFixed(2)} | ${(MIB / (m / 1000)).toFixed(0)} |`,
      );
    }
    console.log(`\ntap ÷ straight (medians): ${(median(tapped) / median(direct)).toFixed(2)}`);
    console.log('\n| Sidecar memory (MiB) | VmRSS before | VmRSS peak while downloading | VmRSS after | VmHWM |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    console.log(`| ${ROUNDS} × ${MIB} MiB through the tap | ${mib(before.rss)} | ${mib(peak)} | ${mib(after.rss)} | ${mib(after.peak)} |`);
    const ok = recorded.length === 1 && recorded[0]!.document === expected;
    console.log(
      `\nrecorded id of the served file: ${recorded.map((r) => r.document).join(', ') || 'none'} ` +
        `(expected ${expected}: ${ok ? 'ok' : 'WRONG'})`,
    );
    if (!ok) process.exitCode = 1;
  } finally {
    await sidecar.stop();
    await calibreWeb.stop();
    files.remove();
  }
}

await main();
