import { describe, expect, it } from 'vitest';
import { fileNamesOf, filenameDocumentIds, transliterate, validFilename } from '../src/checksums/file-names.js';
import { md5Hex } from '../src/util/md5.js';
import { authorKey, authorsMatch, normaliseTitle } from '../src/matching/title-author.js';

describe("Calibre-Web's get_valid_filename(value, replace_whitespace=False)", () => {
  it('turns a trailing dot, slashes and colons into underscores and trims', () => {
    expect(validFilename("Notes: On Tea & Time - J. R. O'Neil", false)).toBe("Notes_ On Tea & Time - J. R. O'Neil");
    expect(validFilename('A/B Stories - Jr.', false)).toBe('A_B Stories - Jr_');
    expect(validFilename('\0  Spaced  \u200B', false)).toBe('Spaced');
    expect(validFilename('What? <No> *stars* | pipes', false)).toBe('What? <No> *stars* | pipes');
  });

  it('cuts at 128 UTF-8 bytes without splitting a character', () => {
    expect(validFilename('é'.repeat(70), false)).toBe('é'.repeat(64));
    expect(validFilename(`a${'é'.repeat(70)}`, false)).toBe(`a${'é'.repeat(63)}`);
  });

  it('spells accented Latin in ASCII when Calibre-Web converts file names', () => {
    expect(validFilename('Über den Fluss - Zoë Ångström', true)).toBe('Uber den Fluss - Zoe Angstrom');
    expect(transliterate('§ß ÄÜÖäöü Œuvre Łódź')).toBe('SSss AUOaou OEuvre Lodz');
  });
});

describe('the file names a device may hold a format under', () => {
  it('are the library name and the download names, with the Kobo ending for KEPUB', () => {
    expect(
      fileNamesOf({ title: 'Über den Fluss', author: 'Zoë Ångström', format: 'KEPUB', dataName: 'Uber den Fluss - Zoe Angstrom' }),
    ).toEqual([
      'Uber den Fluss - Zoe Angstrom.kepub',
      'Über den Fluss - Zoë Ångström.kepub',
      'Über den Fluss - Zoë Ångström.kepub.epub',
      'Uber den Fluss - Zoe Angstrom.kepub.epub',
    ]);
    expect(fileNamesOf({ title: 'Untitled', author: undefined, format: 'PDF', dataName: 'Untitled' })).toEqual(['Untitled.pdf']);
  });

  it('are hashed as KOReader hashes a base name, NFC and NFD', () => {
    expect(md5Hex('test')).toBe('098f6bcd4621d373cade4e832627b4f6');
    expect(filenameDocumentIds('plain.epub')).toEqual([{ document: md5Hex('plain.epub'), name: 'plain.epub' }]);
    expect(filenameDocumentIds('Zoë.epub').map((e) => e.name)).toEqual(['Zoë.epub'.normalize('NFC'), 'Zoë.epub'.normalize('NFD')]);
  });
});

describe('title and author normalisation', () => {
  it('ignores case, accents, punctuation and reads & as "and"', () => {
    expect(normaliseTitle('Notes: On Tea & Time')).toBe('notes on tea and time');
    expect(normaliseTitle('NOTES — on tea and time!')).toBe('notes on tea and time');
    expect(normaliseTitle('Über den Fluss')).toBe(normaliseTitle('uber den fluss'));
  });

  it('reads "Last, First" and "First Last" as one name', () => {
    expect(authorKey('Ellison, Mara')).toBe(authorKey('Mara Ellison'));
    expect(authorKey("O'Neil, J.R.")).toBe(authorKey("J. R. O'Neil"));
    expect(authorKey('Ångström, Zoë')).toBe(authorKey('Zoe Angstrom'));
  });

  it('matches one of several authors, or the whole list', () => {
    expect(authorsMatch('Mara Ellison\nTobias Renn', ['Tobias Renn', 'Priya Natarajan'])).toBe(true);
    expect(authorsMatch('Mara Ellison, Tobias Renn', ['Mara Ellison', 'Tobias Renn'])).toBe(true);
    expect(authorsMatch('Renn, Tobias & Natarajan, Priya', ['Priya Natarajan'])).toBe(true);
    expect(authorsMatch('Tobias Renn', ['Mara Ellison'])).toBe(false);
    expect(authorsMatch('Mara', ['Mara Ellison'])).toBe(false);
  });
});
