import { constants } from 'node:fs';
import { join } from 'node:path';
import { locateLibrary } from '../databases.js';
import { CalibreDb } from '../db/calibre-db.js';
import { sampleFormatPaths } from '../repos/library.js';
import { findReadColumn } from '../repos/read-column.js';
import { readColumnFromSettings } from '../repos/settings.js';
import { canAccess, whoAmI } from './app-db-checks.js';
import { fail, type Finding, note, ok, warn } from './findings.js';

/** How many of the library's files are opened to see that the folder is the one Calibre-Web uses. */
const SAMPLE_SIZE = 5;

/**
 * The library as the server will open it: KOSYNC_LIBRARY, else Calibre-Web's config_calibre_dir
 * (locateLibrary); with `readColumn` (KOSYNC_READ_COLUMN), the Calibre column a finished book is marked read in.
 */
export function inspectLibrary(
  configured: string | undefined,
  settings: Record<string, unknown>,
  options: { readColumn: boolean },
): Finding[] {
  const location = locateLibrary(configured, settings);
  if (location.found === undefined) {
    return [location.blocking ? fail(`${location.message} (the server will not start; ${location.remedy})`) : warn(location.message)];
  }
  const library = location.found;
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
    findings.push(sampleFiles(library, sampleFormatPaths(calibre.conn, SAMPLE_SIZE)));
    if (options.readColumn) findings.push(readColumnFinding(calibre, settings));
    return findings;
  } finally {
    calibre.close();
  }
}

/** The first library files, by the layout the scanner reads them in (repos/library.ts bookFilePath). */
function sampleFiles(library: string, paths: string[]): Finding {
  if (paths.length === 0) return note('the library has no book files yet');
  const unreadable = paths.map((path) => join(library, path)).filter((p) => !canAccess(p, constants.R_OK));
  if (unreadable.length === 0) return ok(`library files reachable: ${paths.length} of ${paths.length} sampled are readable`);
  return warn(
    `library files: ${unreadable.length} of ${paths.length} sampled are missing or unreadable, e.g. ${unreadable[0]} ` +
      '(is the same library mounted here as in Calibre-Web?); books without a CWA checksum cannot be matched',
  );
}

/** Which Calibre column KOSYNC_READ_COLUMN writes, by the rules the server applies at each finished push (sync/read-column.ts). */
function readColumnFinding(calibre: CalibreDb, settings: Record<string, unknown>): Finding {
  const id = readColumnFromSettings(settings);
  if (id === undefined) {
    return note(
      'KOSYNC_READ_COLUMN is on, but Calibre-Web keeps read status in its own table (no Calibre column is linked to read status ' +
        'in its UI configuration): metadata.db is not written',
    );
  }
  const found = findReadColumn(calibre.conn, id);
  if ('problem' in found) return warn(`KOSYNC_READ_COLUMN: ${found.problem}; nothing is written to metadata.db`);
  const { column } = found;
  const where = `Calibre's column #${column.label} ("${column.name}", table custom_column_${column.id}) of ${calibre.path}`;
  if (!canAccess(calibre.path, constants.W_OK) || !canAccess(calibre.library, constants.W_OK)) {
    return warn(
      `KOSYNC_READ_COLUMN: a finished book would be marked read in ${where}, but the file or its folder (SQLite's journal) ` +
        `is not writable by ${whoAmI()}`,
    );
  }
  return ok(`KOSYNC_READ_COLUMN: a book finished in KOReader is marked read in ${where}, for every user of the library`);
}
