/**
 * Checksum index benchmark (issue 4): builds a generated library of 10,000 books whose files are
 * sparse (a few KiB on disk, 100 KiB–40 MiB long, so every sample offset up to 16 MiB is read), then
 * reports the index build time and memory, an unchanged refresh, and the partial-MD5 throughput
 * beside a baseline that reads the same 12 samples with plain fs calls and no hashing, in one run.
 *
 *   npm run bench:index [-- --books N]
 */
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { partialMd5, SAMPLE_OFFSETS } from '../src/checksums/partial-md5.js';
import { ChecksumScanner } from '../src/checksums/scanner.js';
import { systemClock } from '../src/clock.js';
import { CalibreDb } from '../src/db/calibre-db.js';
import { StateDb } from '../src/db/state-db.js';
import { SCHEMA_DIR } from '../src/paths.js';

const BOOKS = Number(process.argv[process.argv.indexOf('--books') + 1]) || 10_000;
const SAMPLE = 1024;
const ROUNDS = 3;

interface Generated {
  library: string;
  files: string[];
}

/** metadata.db from schema/metadata-db.sql and one sparse EPUB per book, in calibre's layout. */
function generateLibrary(dir: string, books: number): Generated {
  const library = join(dir, 'library');
  mkdirSync(library);
  const db = new Database(join(library, 'metadata.db'));
  db.exec(readFileSync(join(SCHEMA_DIR, 'metadata-db.sql'), 'utf8'));
  const files: string[] = [];
  const header = Buffer.alloc(SAMPLE, 0x50);
  db.transaction(() => {
    const book = db.prepare(`INSERT INTO books (id, title, sort, author_sort, path) VALUES (?, ?, ?, ?, ?)`);
    const author = db.prepare(`INSERT INTO authors (id, name, sort) VALUES (?, ?, ?)`);
    const link = db.prepare(`INSERT INTO books_authors_link (book, author) VALUES (?, ?)`);
    const data = db.prepare(`INSERT INTO data (book, format, uncompressed_size, name) VALUES (?, 'EPUB', ?, ?)`);
    for (let id = 1; id <= books; id++) {
      const title = `Generated Book ${id}`;
      const name = `Author ${id % 997}`;
      const folder = `${name}/${title} (${id})`;
      const size = 100 * 1024 + ((id * 7919) % (40 * 1024 * 1024));
      if (id <= 997) author.run(id, name, name);
      book.run(id, title, title, name, folder);
      link.run(id, (id % 997) + 1);
      data.run(id, size, `${title} - ${name}`);
      mkdirSync(join(library, folder), { recursive: true });
      const path = join(library, folder, `${title} - ${name}.epub`);
      const fd = openSync(path, 'w');
      ftruncateSync(fd, size);
      header.writeUInt32BE(id, 0);
      writeSync(fd, header, 0, SAMPLE, 0);
      closeSync(fd);
      files.push(path);
    }
  })();
  db.close();
  return { library, files };
}

/** The baseline: the same 12 reads as partialMd5 with fs/promises, nothing hashed. */
async function readSamplesPromises(path: string, buffer: Buffer): Promise<number> {
  const file = await open(path, 'r');
  let total = 0;
  try {
    for (const offset of SAMPLE_OFFSETS) {
      const { bytesRead } = await file.read(buffer, 0, SAMPLE, offset);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
  } finally {
    await file.close();
  }
  return total;
}

/** The same reads with blocking fs calls. */
function readSamplesSync(path: string, buffer: Buffer): number {
  const fd = openSync(path, 'r');
  let total = 0;
  try {
    for (const offset of SAMPLE_OFFSETS) {
      const read = readSync(fd, buffer, 0, SAMPLE, offset);
      if (read === 0) break;
      total += read;
    }
  } finally {
    closeSync(fd);
  }
  return total;
}

async function timed(
  label: string,
  files: string[],
  each: (path: string) => Promise<unknown> | unknown,
): Promise<{ label: string; ms: number; perSecond: number }> {
  const start = performance.now();
  for (const path of files) await each(path);
  const ms = performance.now() - start;
  return { label, ms, perSecond: (files.length / ms) * 1000 };
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kosync-bench-index-'));
  try {
    let start = performance.now();
    const { library, files } = generateLibrary(dir, BOOKS);
    console.log(`Generated ${BOOKS} books with sparse files in ${((performance.now() - start) / 1000).toFixed(1)} s (${dir})`);

    const calibre = CalibreDb.open(library);
    const state = StateDb.open(join(dir, 'kosync.db'));
    const scanner = new ChecksumScanner({ library, calibre, state, clock: systemClock, intervalMs: 0, unknownRefreshGapMs: 60_000 });
    global.gc?.();
    const before = process.memoryUsage();
    start = performance.now();
    const build = await scanner.scan();
    const buildMs = performance.now() - start;
    const after = process.memoryUsage();
    start = performance.now();
    const refresh = await scanner.scan();
    const refreshMs = performance.now() - start;
    const indexRows = state.conn.raw
      .prepare('SELECT (SELECT count(*) FROM library_files) AS files, (SELECT count(*) FROM document_ids) AS ids')
      .get() as { files: number; ids: number };
    calibre.close();
    state.close();

    console.log('\nIndex');
    console.log(
      `  first build      ${(buildMs / 1000).toFixed(2)} s for ${build.files} files (${build.hashed} hashed), ` +
        `${Math.round((build.files / buildMs) * 1000)} files/s`,
    );
    console.log(`  unchanged refresh ${(refreshMs / 1000).toFixed(2)} s (${refresh.unchanged} unchanged, ${refresh.hashed} hashed)`);
    console.log(`  rows             ${indexRows.files} library_files, ${indexRows.ids} document_ids`);
    console.log(
      `  memory           heap +${mib(after.heapUsed - before.heapUsed)}, rss ${mib(after.rss)}, ` +
        `peak rss ${mib(process.resourceUsage().maxRSS * 1024)}`,
    );

    // Throughput, sequential, one file at a time. The variants take turns for ROUNDS rounds after a
    // warm-up pass, and the best round of each is reported, so page cache and JIT favour none of them.
    const buffer = Buffer.alloc(SAMPLE);
    for (const path of files.slice(0, 1000)) await partialMd5(path);
    const variants: [string, (path: string) => Promise<unknown> | unknown][] = [
      ['partialMd5 (fs/promises + md5)', partialMd5],
      ['baseline: fs/promises reads', (p) => readSamplesPromises(p, buffer)],
      ['baseline: sync fs reads', (p) => readSamplesSync(p, buffer)],
    ];
    const best = new Map<string, { label: string; ms: number; perSecond: number }>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [label, each] of variants) {
        const result = await timed(label, files, each);
        if (!best.has(label) || result.ms < best.get(label)!.ms) best.set(label, result);
      }
    }
    const baseline = best.get('baseline: fs/promises reads')!;
    console.log(`\nPartial MD5 throughput (12 samples per file, best of ${ROUNDS} rounds over ${files.length} files)`);
    for (const r of best.values()) {
      console.log(
        `  ${r.label.padEnd(34)} ${Math.round(r.perSecond).toString().padStart(7)} files/s  ${(r.ms / 1000).toFixed(2)} s  ` +
          `ratio to fs/promises baseline ${(r.ms / baseline.ms).toFixed(2)}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
