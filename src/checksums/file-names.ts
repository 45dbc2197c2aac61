import { foldLatin } from '../util/latin.js';
import { md5Hex } from '../util/md5.js';

/** Calibre-Web's get_valid_filename limit (helper.py `chars=128`, counted in UTF-8 bytes: docs/UPSTREAM.md#calibre-web-download-names). */
const MAX_NAME_BYTES = 128;

/**
 * Calibre-Web's strip_whitespaces (string_helper.py, docs/UPSTREAM.md#calibre-web-users-and-roles):
 * whitespace and zero-width characters.
 */
const EDGE_WHITESPACE = /^[\s\u200B-\u200D\uFEFF]+|[\s\u200B-\u200D\uFEFF]+$/g;

/**
 * ASCII spelling of Latin text, standing in for the unidecode that Calibre-Web applies when "Convert
 * non-English characters in title and author" (config_unicode_filename) is on
 * (docs/UPSTREAM.md#calibre-web-download-names). It covers accented Latin letters (and unidecode's `SS`
 * for §); other scripts are left as they are.
 */
export function transliterate(text: string): string {
  return foldLatin(text).replace(/§/g, 'SS');
}

/**
 * Calibre-Web's get_valid_filename(value, replace_whitespace=False) (helper.py,
 * docs/UPSTREAM.md#calibre-web-download-names), as get_download_link calls it: a trailing '.' becomes
 * '_', '/' and ':' become '_', NULs are stripped from the ends, the result is cut to 128 UTF-8 bytes and
 * trimmed.
 */
export function validFilename(value: string, unicodeFilename: boolean): string {
  let name = value.endsWith('.') ? `${value.slice(0, -1)}_` : value;
  name = name.replace(/[/:]/g, '_').replace(/^\0+|\0+$/g, '');
  if (unicodeFilename) name = transliterate(name);
  const bytes = Buffer.from(name, 'utf8');
  // Python's decode('utf-8', errors='ignore') drops a character the cut splits: end on a boundary.
  let end = Math.min(bytes.length, MAX_NAME_BYTES);
  while (end < bytes.length && end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  const text = bytes.subarray(0, end).toString('utf8');
  return text.replace(EDGE_WHITESPACE, '');
}

/**
 * The name Calibre-Web's get_download_link gives a download
 * (docs/UPSTREAM.md#calibre-web-download-names), without its extension: `<title> - <first author>` (the
 * title alone without authors) through get_valid_filename.
 */
function downloadBaseName(file: Pick<NamedFormat, 'title' | 'author'>, unicodeFilename: boolean): string {
  return validFilename(file.author ? `${file.title} - ${file.author}` : file.title, unicodeFilename);
}

/** The download's full name as Calibre-Web gives it with its default settings (no ASCII conversion). */
export function downloadName(file: Omit<NamedFormat, 'dataName'>): string {
  return `${downloadBaseName(file, false)}.${file.format.toLowerCase()}`;
}

interface NamedFormat {
  title: string;
  /** The first author (Calibre-Web's `book.authors[0]`), absent for a book without authors. */
  author: string | undefined;
  /** Upper-case format, e.g. EPUB. */
  format: string;
  /** `data.name`: the library file's name without extension. */
  dataName: string;
}

/**
 * The base names a device may hold this format under: the library file's own name, and the names
 * Calibre-Web's get_download_link gives a download, `<title> - <first author>.<format>` through
 * get_valid_filename, with and without its ASCII conversion, and with the `.kepub.epub` ending its Kobo
 * endpoint uses for KEPUB (do_download_file; docs/UPSTREAM.md#calibre-web-download-names).
 */
export function fileNamesOf(file: NamedFormat): string[] {
  const ext = file.format.toLowerCase();
  const names = [`${file.dataName}.${ext}`];
  for (const unicodeFilename of [false, true]) {
    const base = downloadBaseName(file, unicodeFilename);
    if (base === '') continue;
    names.push(`${base}.${ext}`);
    if (ext === 'kepub') names.push(`${base}.kepub.epub`);
  }
  return [...new Set(names)];
}

/**
 * KOReader's "filename" document id (checksum_method FILENAME,
 * docs/UPSTREAM.md#koreader-keys-and-document-ids): md5 of the file's base name, extension included.
 * Names are hashed as NFC and, where different, NFD, since devices and file systems keep either form.
 */
export function filenameDocumentIds(name: string): { document: string; name: string }[] {
  const forms = [...new Set([name.normalize('NFC'), name.normalize('NFD')])];
  return forms.map((form) => ({ document: md5Hex(form), name: form }));
}
