import { constants, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CalibreDb } from '../db/calibre-db.js';
import { calibreDirFromSettings } from '../db/settings.js';
import { canAccess } from './app-db-checks.js';
import { fail, note, ok, warn, type Finding } from './findings.js';

/** How many of the library's files are opened to see that the folder is the one Calibre-Web uses. */
const SAMPLE_SIZE = 5;

/** The library as the server will open it: KOSYNC_LIBRARY, else Calibre-Web's config_calibre_dir. */
export function inspectLibrary(configured: string | undefined, settings: Record<string, unknown> | undefined): Finding[] {
  const library = configured ?? (settings && calibreDirFromSettings(settings));
  if (!library) {
    return [
      warn('no Calibre library: neither KOSYNC_LIBRARY nor config_calibre_dir in app.db is set; progress syncs, but no book is matched'),
    ];
  }
  if (!existsSync(library) || !statSync(library).isDirectory()) {
    return [
      fail(
        `Calibre library folder not found: ${library} (the server will not start; set KOSYNC_LIBRARY to the folder holding metadata.db)`,
      ),
    ];
  }
  if (!existsSync(join(library, 'metadata.db'))) {
    return [warn(`no metadata.db in ${library}: progress syncs, but no book is matched`)];
  }
  let calibre: CalibreDb;
  try {
    calibre = CalibreDb.open(library);
  } catch (error) {
    return [fail(`${(error as Error).message} (the server will not start)`)];
  }
  try {
    const raw = calibre.conn.raw;
    const { books } = raw.prepare('SELECT count(*) AS books FROM books').get() as { books: number };
    const findings = [ok(`metadata.db in ${library}: opened read-only, ${books} book${books === 1 ? '' : 's'}`)];
    if (calibre.hasChecksumTable()) {
      const { rows } = raw.prepare('SELECT count(*) AS rows FROM book_format_checksums').get() as { rows: number };
      findings.push(ok(`CWA's checksum table book_format_checksums: present, ${rows} checksum${rows === 1 ? '' : 's'}`));
    } else {
      findings.push(note("CWA's checksum table book_format_checksums: absent; books are matched through the sidecar's own checksum index"));
    }
    findings.push(
      sampleFiles(
        library,
        raw
          .prepare(
            `SELECT b.path AS folder, d.name AS name, d.format AS format
             FROM data d JOIN books b ON b.id = d.book ORDER BY d.id LIMIT ${SAMPLE_SIZE}`,
          )
          .all() as { folder: string; name: string; format: string }[],
      ),
    );
    return findings;
  } finally {
    calibre.close();
  }
}

/** Calibre's layout: `<library>/<books.path>/<data.name>.<lower(format)>`. */
function sampleFiles(library: string, rows: { folder: string; name: string; format: string }[]): Finding {
  if (rows.length === 0) return note('the library has no book files yet');
  const unreadable = rows
    .map((r) => join(library, r.folder, `${r.name}.${r.format.toLowerCase()}`))
    .filter((p) => !canAccess(p, constants.R_OK));
  if (unreadable.length === 0) return ok(`library files reachable: ${rows.length} of ${rows.length} sampled are readable`);
  return warn(
    `library files: ${unreadable.length} of ${rows.length} sampled are missing or unreadable, e.g. ${unreadable[0]} ` +
      '(is the same library mounted here as in Calibre-Web?); books without a CWA checksum cannot be matched',
  );
}
