/**
 * Normalised forms of titles and author names, so KOReader's metadata (what the book file says) and
 * Calibre's (what the library says) compare equal despite case, accents, punctuation and name order.
 */
import { foldLatin } from '../util/latin.js';

/** Lower case, accents removed, `&` read as "and", apostrophes dropped, other punctuation as spaces. */
function words(text: string): string[] {
  return foldLatin(text.toLowerCase())
    .replace(/&/g, ' and ')
    .replace(/['’ʼ`]/g, '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== '');
}

export function normaliseTitle(title: string): string {
  return words(title).join(' ');
}

/** An author's name as a key independent of order: "Ellison, Mara" and "Mara Ellison" are equal. */
export function authorKey(name: string): string {
  return words(name).sort().join(' ');
}

/**
 * The author keys of KOReader's `authors` text: one per author, split at new lines (KOReader joins
 * several authors with them), `;` and `&`. A comma stays inside a name ("Last, First").
 */
function authorKeysOf(authors: string): string[] {
  return authors
    .split(/\n|;|&/)
    .map(authorKey)
    .filter((k) => k !== '');
}

/**
 * Whether KOReader's authors name the book's authors: one of them equals one of the book's, or all of
 * KOReader's words together equal all of the book's (a list joined with commas).
 */
export function authorsMatch(hintAuthors: string, bookAuthors: readonly string[]): boolean {
  const bookKeys = new Set(bookAuthors.map(authorKey));
  if (authorKeysOf(hintAuthors).some((k) => bookKeys.has(k))) return true;
  const allHint = authorKey(hintAuthors);
  return allHint !== '' && allHint === authorKey(bookAuthors.join(' '));
}
