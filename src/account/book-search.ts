import type { LibraryTitles } from '../matching/library-titles.js';
import { normaliseTitle } from '../matching/title-author.js';
import type { LibraryBook } from '../repos/library.js';

/** Books answered at most per search. */
const SEARCH_RESULTS = 20;

/**
 * Library books whose title and authors hold every word of the query (case, accents and punctuation
 * ignored, a word may be the start of one: "light" finds "Lighthouse"), in id order: what a reader picks
 * from to link a document by hand.
 */
export function searchBooks(titles: LibraryTitles, query: string): LibraryBook[] {
  const wanted = normaliseTitle(query)
    .split(' ')
    .filter((w) => w !== '');
  if (wanted.length === 0) return [];
  const found: LibraryBook[] = [];
  for (const book of titles.all()) {
    const words = normaliseTitle(`${book.title} ${book.authors.join(' ')}`).split(' ');
    if (wanted.every((w) => words.some((word) => word.startsWith(w)))) found.push(book);
    if (found.length === SEARCH_RESULTS) break;
  }
  return found;
}
