import { type DocumentExplanation, explainDocument, type MissExplanation } from '../../matching/explain.js';
import type { ScanProgress, ScanSummary } from '../../checksums/scanner.js';
import { type Databases, openDatabases } from '../../databases.js';
import { type Library, libraryOf } from '../../library.js';
import type { MatchSource } from '../../matching/book-matcher.js';
import { EVERYONE, type IndexedDocument } from '../../repos/checksum-index.js';
import { findUserById } from '../../repos/users.js';
import type { Command, CommandContext } from '../command.js';

const METHOD_NAMES: Record<MatchSource, string> = {
  cwa: "CWA's book_format_checksums",
  binary: 'its KOReader partial MD5 (checksum index)',
  download: 'the KOReader partial MD5 of a file Calibre-Web served (download tap)',
  filename: 'the md5 of its file name (KOReader "filename" method)',
  metadata: "an alias recorded from KOReader's metadata",
  manual: "the reader's own link (account page or API)",
};
const BAR_WIDTH = 30;

export const checksumsCommand: Command = {
  name: 'checksums',
  summary: 'the checksum index: rebuild it, or show which book a document id is',
  usage: 'checksums scan | checksums find <document>',
  help: [
    'scan             rehash every file of the library into the index (a progress bar on a terminal),',
    '                 then print a summary; the running server refreshes the index by itself',
    'find <document>  which book a KOReader document id matches, by which method, and when each',
    '                 index entry was seen; else why not, and the books it may be; exit code 1 when',
    '                 it matches no book for anyone',
  ].join('\n'),
  switches: ['--json'],
  run: async (context) => {
    const [action, ...rest] = context.positionals;
    if (action === 'scan' && rest.length === 0) return withLibrary(context, (db) => scan(context, db));
    if (action === 'find' && rest.length === 1) return withLibrary(context, (db) => find(context, db, rest[0]!.trim()));
    context.stderr.write(`Usage: calibre-web-kosync ${checksumsCommand.usage}\n`);
    return 2;
  },
};

type Opened = Library & Pick<Databases, 'stateDb' | 'appDb'>;

async function withLibrary(context: CommandContext, work: (db: Opened) => Promise<number>): Promise<number> {
  const databases = openDatabases(context.config, { warn: (m) => context.stderr.write(`${m}\n`) });
  const library = libraryOf(context.config, databases, context.clock);
  try {
    if (!library) {
      context.stderr.write('calibre-web-kosync checksums: no Calibre library to index (set KOSYNC_LIBRARY)\n');
      return 1;
    }
    return await work({ ...library, stateDb: databases.stateDb, appDb: databases.appDb });
  } finally {
    await library?.scanner.stop();
    databases.close();
  }
}

async function scan({ stdout, switches }: CommandContext, db: Opened): Promise<number> {
  const bar = stdout.isTTY && !switches.has('--json') ? progressBar(stdout) : undefined;
  const summary = await db.scanner.scan({ full: true, ...(bar ? { onProgress: bar } : {}) });
  if (bar) stdout.write('\n');
  stdout.write(switches.has('--json') ? `${JSON.stringify(summary)}\n` : `${describeScan(summary)}\n`);
  return summary.failed > 0 ? 1 : 0;
}

function describeScan(s: ScanSummary): string {
  return (
    `Checksum index: ${s.files} library files in ${(s.durationMs / 1000).toFixed(1)} s: ${s.hashed} hashed, ` +
    `${s.unchanged} unchanged, ${s.missing} missing on disk, ${s.removed} no longer in the library, ${s.failed} unreadable.`
  );
}

/** `[#######-------]  700/1000 files`, redrawn in place when the shown count changes by a percent. */
function progressBar(out: NodeJS.WritableStream): (p: ScanProgress) => void {
  let shown = -1;
  return ({ done, total }) => {
    const percent = total === 0 ? 100 : Math.floor((done * 100) / total);
    if (percent === shown && done !== total) return;
    shown = percent;
    const filled = Math.round((percent * BAR_WIDTH) / 100);
    out.write(`\r[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(done).padStart(String(total).length)}/${total} files`);
  };
}

async function find({ stdout, switches }: CommandContext, db: Opened, document: string): Promise<number> {
  const found = explainDocument(document, { matcher: db.matcher, explainer: db.explainer, calibre: db.calibreDb, state: db.stateDb });
  stdout.write(switches.has('--json') ? `${JSON.stringify(found)}\n` : describeDocument(found, (id) => userName(db, id)));
  return found.match || found.index.some(forOneUser) ? 0 : 1;
}

/** A live alias learnt from one user's KOReader metadata: the document matches for that user. */
const forOneUser = (e: IndexedDocument) => e.live && e.userId !== EVERYONE;

/** A user's name from app.db, for the report; the id when it cannot be read. */
function userName(db: Opened, id: number): string {
  try {
    const name = findUserById(db.appDb.read, id)?.name;
    return name ? `${name} (user ${id})` : `user ${id}`;
  } catch {
    return `user ${id}`;
  }
}

function describeDocument({ document, match, cwa, index, unmatched, miss }: DocumentExplanation, user: (id: number) => string): string {
  const lines = [
    match
      ? `${document}: book ${match.bookId} "${match.title}", ${match.format}, matched by ${METHOD_NAMES[match.method]}`
      : `${document}: matches no book of the library${index.some(forOneUser) ? ' for everyone' : ''}`,
  ];
  for (const e of cwa) lines.push(`  CWA table  book ${e.bookId} ${e.format}  created ${e.created ?? '(unknown)'}  version ${e.version}`);
  const state = (live: boolean) => (live ? 'in the library' : 'book or format no longer in the library');
  for (const e of index) {
    const detail = e.detail ? `  (${e.detail})` : '';
    const whose =
      e.userId !== EVERYONE
        ? `  for ${user(e.userId)} only`
        : e.method === 'metadata'
          ? '  recorded for every user before aliases were per user: no longer matches'
          : '';
    const seen = `first seen ${e.firstSeen}  last seen ${e.lastSeen}`;
    lines.push(`  ${e.method.padEnd(9)}  book ${e.bookId} ${e.format}  ${seen}  ${state(e.live)}${whose}${detail}`);
  }
  if (cwa.length === 0 && index.length === 0) {
    lines.push('  not in the checksum index (run `checksums scan` if the library changed)');
  }
  for (const push of unmatched) {
    const sent = [
      push.title && `title "${push.title}"`,
      push.authors && `authors "${push.authors}"`,
      push.filename && `file "${push.filename}"`,
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(`  pushed by ${user(push.user_id)}, last ${push.last_seen}, ${sent ? `with ${sent}` : 'without metadata'}:`);
    lines.push(...describeMiss(push.explanation, '    '));
  }
  if (miss && unmatched.length === 0) lines.push(...describeMiss(miss, '  '));
  return `${lines.join('\n')}\n`;
}

function describeMiss({ reason, message, likelyBooks }: MissExplanation, indent: string): string[] {
  return [
    `${indent}why: ${message} (${reason})`,
    ...likelyBooks.map((b) => `${indent}  maybe book ${b.bookId} "${b.title}"${b.authors.length ? ` by ${b.authors.join(', ')}` : ''}`),
  ];
}
