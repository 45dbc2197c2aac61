import type { CalibreDb } from '../db/calibre-db.js';
import type { StateDb } from '../db/state-db.js';
import type { DocumentMethod } from '../db/tables.js';
import { documentsOfBook, findLiveDocuments } from '../repos/checksum-index.js';
import { findBookTitle } from '../repos/library.js';
import type { BookMatch, BookSource, MatchSource, UserSource } from './book-matcher.js';

/** A book and format a source found for a document, and how. */
interface Candidate {
  bookId: number;
  format: string;
  source: MatchSource;
}

/**
 * The first candidate whose book metadata.db still has, with its title read now: a book deleted since
 * the last scan matches nothing already.
 */
export function firstInLibrary(calibre: CalibreDb, candidates: readonly Candidate[], checksumVersion: string): BookMatch | undefined {
  for (const found of candidates) {
    const title = findBookTitle(calibre.conn, found.bookId);
    if (title !== undefined) return { bookId: found.bookId, title, format: found.format, checksumVersion, source: found.source };
  }
  return undefined;
}

/**
 * Document ids in the sidecar's checksum index (src/repos/checksum-index.ts) learnt by some methods,
 * newest first, only for books whose format is still in the library with its file present. The book's
 * title comes from metadata.db at lookup time, so a book deleted since the last scan matches nothing
 * already. The match names the method that recorded the id.
 */
class IndexedDocumentSource implements BookSource {
  constructor(
    private readonly calibre: CalibreDb,
    private readonly state: StateDb,
    private readonly methods: readonly DocumentMethod[],
    private readonly checksumVersion: string,
    /** Refuse a document that belongs to two books instead of taking the newest. */
    private readonly refuseAmbiguous: boolean,
  ) {}

  match(document: string): BookMatch | undefined {
    const candidates = findLiveDocuments(this.state.conn, document, this.methods);
    if (this.refuseAmbiguous && new Set(candidates.map((c) => c.bookId)).size > 1) return undefined;
    return firstInLibrary(
      this.calibre,
      candidates.map((c) => ({ ...c, source: c.method })),
      this.checksumVersion,
    );
  }

  documentsOf(bookId: number, format: string): string[] {
    return documentsOfBook(this.state.conn, bookId, format, this.methods);
  }
}

/**
 * KOReader's default "binary" ids (partial MD5) of every file the library has held, and of every file
 * Calibre-Web served through the download tap (its bytes differ from the library file when Calibre-Web
 * embeds metadata on download). Tagged `koreader` as CWA tags its rows; identical files in two books
 * resolve to the newest, as CWA's lookup does. Global: the library's files are everyone's.
 */
export class ChecksumIndexSource extends IndexedDocumentSource {
  constructor(calibre: CalibreDb, state: StateDb) {
    super(calibre, state, ['binary', 'download'], 'koreader', false);
  }
}

/**
 * KOReader's "filename" ids (md5 of the base name) of the library's file names and of the names
 * Calibre-Web gives downloads. Tagged `koreader_filename`, the tag Calibre-Web-NextGen uses for them.
 * Two books can share a name (a duplicate import): such a name matches neither.
 */
export class FilenameIdSource extends IndexedDocumentSource {
  constructor(calibre: CalibreDb, state: StateDb) {
    super(calibre, state, ['filename'], 'koreader_filename', true);
  }
}

/**
 * The aliases learnt from this user's KOReader metadata (recorded by MetadataSource for that user
 * alone): a document their reader named by title and authors once matches that book by its id from
 * then on, for them and nobody else.
 */
export class UserAliasSource implements UserSource {
  constructor(
    private readonly calibre: CalibreDb,
    private readonly state: StateDb,
  ) {}

  match(document: string, userId: number): BookMatch | undefined {
    const aliases = findLiveDocuments(this.state.conn, document, ['metadata'], userId).map((a) => ({ ...a, source: a.method }));
    return firstInLibrary(this.calibre, aliases, 'koreader');
  }

  documentsOf(bookId: number, format: string, userId: number): string[] {
    return documentsOfBook(this.state.conn, bookId, format, ['metadata'], userId);
  }
}
