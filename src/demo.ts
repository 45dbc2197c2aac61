import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { generateWerkzeugHash } from './auth/werkzeug.js';
import { partialMd5OfBuffer } from './checksums/partial-md5.js';
import { systemClock } from './clock.js';
import { SCHEMA_DIR } from './paths.js';

export const DEMO_USER = { name: 'demo', password: 'demo' } as const;

export interface DemoBook {
  id: number;
  title: string;
  author: string;
  file: string;
  checksum: string;
}

export interface DemoData {
  dir: string;
  appDb: string;
  library: string;
  books: DemoBook[];
}

const BOOKS = [
  { title: 'A Small Demo Book', author: 'Ada Example', text: 'Welcome to calibre-web-kosync.' },
  { title: 'Another Demo Book', author: 'Ben Sample', text: 'Progress syncs to Calibre-Web.' },
];

/**
 * A throwaway Calibre-Web app.db and Calibre library built from schema/, for trying the server with
 * nothing configured: user demo/demo (scrypt, as current Calibre-Web writes it) and two one-page PDFs
 * whose KOReader checksums are in CWA's checksum table. Made once; later starts reuse it.
 */
export async function prepareDemo(dirPath: string): Promise<DemoData> {
  const dir = resolve(dirPath);
  const appDb = join(dir, 'app.db');
  const library = join(dir, 'library');
  const books = BOOKS.map((b, i) => {
    const folder = `${b.author}/${b.title} (${i + 1})`;
    const bytes = tinyPdf(b.title, b.text);
    return { ...b, id: i + 1, folder, name: `${b.title} - ${b.author}`, bytes, checksum: partialMd5OfBuffer(bytes) };
  });
  const summary = books.map(({ id, title, author, folder, name, checksum }) => ({
    id,
    title,
    author,
    file: join(library, folder, `${name}.pdf`),
    checksum,
  }));
  if (existsSync(appDb) && existsSync(join(library, 'metadata.db'))) return { dir, appDb, library, books: summary };

  mkdirSync(library, { recursive: true });
  const metadata = new Database(join(library, 'metadata.db'));
  try {
    metadata.exec(readFileSync(join(SCHEMA_DIR, 'metadata-db.sql'), 'utf8'));
    for (const b of books) {
      mkdirSync(join(library, b.folder), { recursive: true });
      writeFileSync(join(library, b.folder, `${b.name}.pdf`), b.bytes);
      metadata
        .prepare(`INSERT INTO books (id, title, sort, author_sort, path, uuid) VALUES (?, ?, ?, ?, ?, lower(hex(randomblob(16))))`)
        .run(b.id, b.title, b.title, b.author, b.folder);
      metadata.prepare(`INSERT INTO authors (id, name, sort) VALUES (?, ?, ?)`).run(b.id, b.author, b.author);
      metadata.prepare(`INSERT INTO books_authors_link (book, author) VALUES (?, ?)`).run(b.id, b.id);
      metadata
        .prepare(`INSERT INTO data (book, format, uncompressed_size, name) VALUES (?, 'PDF', ?, ?)`)
        .run(b.id, b.bytes.length, b.name);
      metadata
        .prepare(`INSERT INTO book_format_checksums (book, format, checksum, version, created) VALUES (?, 'PDF', ?, 'koreader', ?)`)
        .run(b.id, b.checksum, new Date(systemClock.nowMicros() / 1000).toISOString().replace('Z', '+00:00'));
    }
  } finally {
    metadata.close();
  }

  const app = new Database(appDb);
  try {
    app.exec(readFileSync(join(SCHEMA_DIR, 'app-db.sql'), 'utf8'));
    app.prepare(`INSERT INTO settings (id, config_calibre_dir, config_login_type) VALUES (1, ?, 0)`).run(library);
    const insertUser = app.prepare(
      `INSERT INTO user (name, email, role, password, locale, default_language, kobo_only_shelves_sync)
       VALUES (?, ?, ?, ?, 'en', 'all', 0)`,
    );
    insertUser.run('Guest', 'no@email', 32, '');
    insertUser.run(DEMO_USER.name, 'demo@example.org', 2 + 256, await generateWerkzeugHash(DEMO_USER.password));
  } finally {
    app.close();
  }
  return { dir, appDb, library, books: summary };
}

/** A valid one-page PDF showing one line of text. */
function tinyPdf(title: string, text: string): Buffer {
  const pdfText = (s: string) => s.replace(/[\\()]/g, (c) => `\\${c}`);
  const stream = `BT /F1 18 Tf 72 720 Td (${pdfText(title)}) Tj 0 -28 Td /F1 12 Tf (${pdfText(text)}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Title (${pdfText(title)}) >>`,
  ];
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(pdf.length);
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  pdf += offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}
