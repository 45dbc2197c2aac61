import type { CalibreDb } from '../db/calibre-db.js';
import type { StateDb } from '../db/state-db.js';
import { EVERYONE, findAllDocuments, findLiveDocuments, type IndexedDocument, indexedDataIds } from '../repos/checksum-index.js';
import { type CwaChecksum, listChecksumRows } from '../repos/cwa-checksums.js';
import { findBookTitle, type LibraryBook, listDataIds } from '../repos/library.js';
import { findUnmatched, type UnmatchedDocument } from '../repos/unmatched-documents.js';
import { md5Hex } from '../util/md5.js';
import type { Asker, BookMatch, BookMatcher, DocumentHints, MatchSource } from './book-matcher.js';
import type { LibraryTitles } from './library-titles.js';
import { compareMetadata } from './metadata-source.js';
import { authorsMatch, normaliseTitle } from './title-author.js';

/** A book a miss may be about, for a person to pick from. */
export interface LikelyBook {
  bookId: number;
  title: string;
  authors: string[];
}

/** A book and format a document was known as. */
interface KnownAs {
  bookId: number;
  format: string;
  how: MatchSource;
  lastSeen: string | null;
}

/** Why a document matches no book: a reason code and what it rests on. */
type MissReasonData =
  | { reason: 'index-incomplete'; details: { unindexed: number; total: number } }
  | { reason: 'removed'; details: { knownAs: KnownAs[] } }
  | { reason: 'filename-id'; details: { filename: string; books: number[] } }
  | { reason: 'metadata-ambiguous'; details: { books: number[]; formats: string[] } }
  | { reason: 'metadata-unmatched'; details: { title: string; authors: string } }
  | { reason: 'metadata-absent'; details: Record<string, never> }
  | { reason: 'matches-by-metadata'; details: { bookId: number; format: string } };

/**
 * Why a document matches no book, as data (for the log, `checksums find` and an account page): a
 * reason code, what it rests on, a sentence saying it, and up to three books the reader may mean.
 */
export type MissExplanation = MissReasonData & { message: string; likelyBooks: LikelyBook[] };

export type MissReason = MissExplanation['reason'];

/** Books beyond this many are not offered as likely ones. */
const LIKELY_BOOKS = 3;

interface MissExplainerDeps {
  calibre: CalibreDb;
  state: StateDb;
  titles: LibraryTitles;
}

/**
 * Explains why a document matched no book: known as a book or format that left the library; the
 * index not complete yet; KOReader's "filename" method with a name the library does not know, or that
 * two books share; KOReader's metadata naming several books, none, or not sent at all.
 */
export class MissExplainer {
  constructor(private readonly deps: MissExplainerDeps) {}

  explain(document: string, { userId, hints }: Asker = {}): MissExplanation {
    const { likely: named, ...reason } = this.reason(document, userId, hints);
    return { ...reason, message: messageOf(reason, hints), likelyBooks: named ?? this.likelyBooks(hints) };
  }

  private reason(document: string, userId: number | undefined, hints: DocumentHints | undefined): Reasoned {
    const { calibre, state, titles } = this.deps;
    const gone = this.knownAsGone(document, userId);
    if (gone.length > 0) return { reason: 'removed', details: { knownAs: gone } };

    const sharedName = findLiveDocuments(state.conn, document, ['filename']);
    if (sharedName.length > 0) {
      const books = [...new Set(sharedName.map((d) => d.bookId))].sort((a, b) => a - b);
      return { reason: 'filename-id', details: { filename: sharedName[0]!.detail ?? '', books } };
    }

    const indexed = new Set(indexedDataIds(state.conn));
    const formats = listDataIds(calibre.conn);
    const unindexed = formats.filter((id) => !indexed.has(id)).length;
    if (unindexed > 0) return { reason: 'index-incomplete', details: { unindexed, total: formats.length } };

    const filename = hints?.filename;
    if (filename && [filename.normalize('NFC'), filename.normalize('NFD')].some((form) => md5Hex(form) === document)) {
      return { reason: 'filename-id', details: { filename, books: [] } };
    }

    const outcome = compareMetadata(titles, state, hints);
    switch (outcome.kind) {
      case 'absent':
        return { reason: 'metadata-absent', details: {} };
      case 'none':
        return { reason: 'metadata-unmatched', details: { title: hints?.title ?? '', authors: hints?.authors ?? '' } };
      case 'several':
        return {
          reason: 'metadata-ambiguous',
          details: { books: outcome.books.map((b) => b.id), formats: [] },
          likely: outcome.books.slice(0, LIKELY_BOOKS).map(likely),
        };
      case 'format-unclear':
        return outcome.formats.length === 0
          ? { reason: 'removed', details: { knownAs: [{ bookId: outcome.book.id, format: '', how: 'metadata', lastSeen: null }] } }
          : {
              reason: 'metadata-ambiguous',
              details: { books: [outcome.book.id], formats: outcome.formats },
              likely: [likely(outcome.book)],
            };
      case 'one':
        return {
          reason: 'matches-by-metadata',
          details: { bookId: outcome.book.id, format: outcome.format },
          likely: [likely(outcome.book)],
        };
    }
  }

  /** The books and formats the document was known as that are gone from the library (or their file from disk). */
  private knownAsGone(document: string, userId: number | undefined): KnownAs[] {
    const { calibre, state } = this.deps;
    const cwa = calibre.hasChecksumTable() ? listChecksumRows(calibre.conn, document) : [];
    // What matched before: the index's entries for everyone (not the aliases once recorded for every
    // user, which no longer match) and this user's own aliases.
    const matchedBefore = (d: IndexedDocument) => (d.userId === EVERYONE ? d.method !== 'metadata' : d.userId === userId);
    const entries: KnownAs[] = [
      ...cwa.map((c) => ({ bookId: c.bookId, format: c.format, how: 'cwa' as const, lastSeen: c.created })),
      ...findAllDocuments(state.conn, document)
        .filter((d) => !d.live && matchedBefore(d))
        .map((d) => ({ bookId: d.bookId, format: d.format, how: d.method, lastSeen: d.lastSeen })),
    ];
    // A CWA row of a book metadata.db still has would have matched: only those of deleted books count.
    return entries.filter((e) => e.how !== 'cwa' || findBookTitle(calibre.conn, e.bookId) === undefined);
  }

  /**
   * Up to three books the reader's metadata may mean: the title sharing at least half its words with
   * the book's, or the author matching, best first.
   */
  private likelyBooks(hints: DocumentHints | undefined): LikelyBook[] {
    if (!hints?.title && !hints?.authors) return [];
    const wanted = new Set(hints.title ? normaliseTitle(hints.title).split(' ') : []);
    return this.deps.titles
      .all()
      .map((book) => {
        const words = new Set(normaliseTitle(book.title).split(' '));
        const common = [...wanted].filter((w) => words.has(w)).length;
        const titleScore = wanted.size === 0 ? 0 : common / Math.max(wanted.size, words.size);
        const authorScore = hints.authors && authorsMatch(hints.authors, book.authors) ? 1 : 0;
        return { book, titleScore, score: titleScore + authorScore };
      })
      .filter((c) => c.titleScore >= 0.5 || c.score >= 1)
      .sort((a, b) => b.score - a.score || a.book.id - b.book.id)
      .slice(0, LIKELY_BOOKS)
      .map((c) => likely(c.book));
  }
}

/** A reason, with the books it names itself when they are the likely ones. */
type Reasoned = MissReasonData & { likely?: LikelyBook[] };

const likely = (book: LibraryBook): LikelyBook => ({ bookId: book.id, title: book.title, authors: book.authors });

const list = (ids: number[]) => ids.map((id) => `book ${id}`).join(', ');

function messageOf(reason: MissReasonData, hints: DocumentHints | undefined): string {
  const named = hints?.title ? `"${hints.title}"${hints.authors ? ` by ${hints.authors.replace(/\n/g, ', ')}` : ''}` : '';
  switch (reason.reason) {
    case 'removed': {
      const { knownAs } = reason.details;
      const what = knownAs.map((k) => (k.format ? `book ${k.bookId} (${k.format})` : `book ${k.bookId}`)).join(', ');
      return `it is a file of ${what}, which is no longer in the library or has no file on disk`;
    }
    case 'index-incomplete': {
      const { unindexed, total } = reason.details;
      return (
        `the checksum index has not read ${unindexed} of the library's ${total} files yet (a scan is running or due); ` +
        'it matches once its file is indexed'
      );
    }
    case 'filename-id': {
      const { filename, books } = reason.details;
      return books.length > 1
        ? `it is KOReader's "filename" id of "${filename}", a name ${list(books)} share, so it names neither`
        : `it is KOReader's "filename" id of "${filename}", a name no library file or download has: ` +
            'set Progress sync → Document matching method to Binary in KOReader';
    }
    case 'metadata-ambiguous': {
      const { books, formats } = reason.details;
      return formats.length > 0
        ? `KOReader's metadata names ${named}, ${list(books)}, whose formats ${formats.join(', ')} the file name does not choose between`
        : `KOReader's metadata names ${named}, which fits several books: ${list(books)}`;
    }
    case 'metadata-unmatched':
      return `KOReader's metadata names ${named}, and no book of the library has that title and author`;
    case 'metadata-absent':
      return (
        'the file is not one the library holds or Calibre-Web served, and KOReader sent no title and authors: ' +
        'turn on Progress sync → Send document metadata in KOReader'
      );
    case 'matches-by-metadata': {
      const { bookId, format } = reason.details;
      return `KOReader's metadata names ${named}: book ${bookId} (${format}), matched on the next push`;
    }
  }
}

/** A user's push of the document that matched nothing, explained with the metadata it carried. */
export interface UnmatchedPush extends UnmatchedDocument {
  explanation: MissExplanation;
}

export interface DocumentExplanation {
  document: string;
  /** The book the server matches the document to now (for anyone), and which of its sources matched it. */
  match: (Omit<BookMatch, 'source'> & { method: MatchSource }) | undefined;
  cwa: CwaChecksum[];
  /** Every index entry for the document, newest first; `live` ones can match (one with a `userId`: for that user alone). */
  index: IndexedDocument[];
  /** Pushes that matched nothing, per user, each explained with the metadata it carried. */
  unmatched: UnmatchedPush[];
  /** Why it matches nothing, from the id alone; undefined when it matches. */
  miss: MissExplanation | undefined;
}

interface Explaining {
  matcher: BookMatcher;
  explainer: MissExplainer;
  calibre: CalibreDb;
  state: StateDb;
}

/** Which book a document id stands for, how it matches, when each way of matching was seen, and why not. */
export function explainDocument(document: string, { matcher, explainer, calibre, state }: Explaining): DocumentExplanation {
  const cwa = calibre.hasChecksumTable() ? listChecksumRows(calibre.conn, document) : [];
  const index = findAllDocuments(state.conn, document);
  const unmatched = () =>
    findUnmatched(state.conn, document).map((push) => ({
      ...push,
      explanation: explainer.explain(document, { userId: push.user_id, hints: hintsOf(push) }),
    }));
  const found = matcher.match(document);
  if (!found) return { document, match: undefined, cwa, index, unmatched: unmatched(), miss: explainer.explain(document) };
  const { source, ...book } = found;
  // Pushes that matched nothing before the document matched for everyone are history: not explained again.
  return { document, match: { ...book, method: source }, cwa, index, unmatched: [], miss: undefined };
}

function hintsOf(push: UnmatchedDocument): DocumentHints {
  return {
    ...(push.title !== null ? { title: push.title } : {}),
    ...(push.authors !== null ? { authors: push.authors } : {}),
    ...(push.filename !== null ? { filename: push.filename } : {}),
  };
}
