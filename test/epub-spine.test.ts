import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpineCache } from '../src/epub/spine-cache.js';
import { normalizeContentPath, readSpine } from '../src/epub/spine.js';
import { container, packageDocument, writeZip } from './support/epub.js';
import { FIXTURES } from './support/fixtures.js';

const BOOK4 = join(
  FIXTURES,
  'calibre',
  'Priya Natarajan',
  'A Field Guide to Small Birds (4)',
  'A Field Guide to Small Birds - Priya Natarajan.epub',
);
const BOOK4_SPINE = Array.from({ length: 12 }, (_, i) => `OEBPS/c${i}.xhtml`);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kosync-spine-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** An EPUB in the temp folder: container.xml naming `opfPath`, the package document, and any other entries. */
function epub(name: string, opfPath: string, opf: string, other: Record<string, string> = {}): string {
  const path = join(dir, name);
  writeZip(path, { mimetype: 'application/epub+zip', 'META-INF/container.xml': container(opfPath), [opfPath]: opf, ...other });
  return path;
}

describe("an EPUB's spine, as KOReader numbers DocFragments and a Kobo names its Source", () => {
  it("reads the fixture library's book 4: twelve items, OEBPS/c0.xhtml to OEBPS/c11.xhtml, paths from the zip root", async () => {
    expect(await readSpine(BOOK4)).toEqual(BOOK4_SPINE);
  });

  it('resolves hrefs from the package document folder: nested folders, `..`, percent-escapes decoded, fragments dropped', async () => {
    const path = epub(
      'nested.epub',
      'content/pkg/book.opf',
      packageDocument({ a: 'text/one.xhtml', b: '../shared/two%20parts.xhtml', c: 'three.xhtml#start', d: '%C3%BCber.xhtml' }, [
        'a',
        'b',
        'c',
        'd',
      ]),
    );
    expect(await readSpine(path)).toEqual([
      'content/pkg/text/one.xhtml',
      'content/shared/two parts.xhtml',
      'content/pkg/three.xhtml',
      'content/pkg/über.xhtml',
    ]);
  });

  it('a package document at the zip root has paths without a folder', async () => {
    expect(await readSpine(epub('root.epub', 'content.opf', packageDocument({ x: 'x.xhtml', y: 'y.xhtml' }, ['x', 'y'])))).toEqual([
      'x.xhtml',
      'y.xhtml',
    ]);
  });

  it('counts every itemref that names a manifest item, linear="no" included, and skips one that names none (crengine does)', async () => {
    const opf = packageDocument({ cover: 'cover.xhtml', one: 'one.xhtml', notes: 'notes.xhtml' }, [
      'cover',
      'idref="missing"',
      'one',
      'idref="notes" linear="no"',
    ]);
    expect(await readSpine(epub('linear.epub', 'OPS/package.opf', opf))).toEqual(['OPS/cover.xhtml', 'OPS/one.xhtml', 'OPS/notes.xhtml']);
  });

  it('reads a package document whose elements carry a namespace prefix, or that starts with a byte order mark', async () => {
    const prefixed =
      '\uFEFF<?xml version="1.0"?><opf:package xmlns:opf="http://www.idpf.org/2007/opf" version="2.0">' +
      '<opf:manifest><opf:item id="a" href="a.html" media-type="application/xhtml+xml"/></opf:manifest>' +
      '<opf:spine><opf:itemref idref="a"/></opf:spine></opf:package>';
    expect(await readSpine(epub('prefixed.epub', 'OEBPS/content.opf', prefixed))).toEqual(['OEBPS/a.html']);
  });

  it.each([
    ['not a zip file', (path: string) => writeFileSync(path, 'plain text, not an EPUB'), /^not a zip file/],
    ['no container.xml', (path: string) => writeZip(path, { mimetype: 'application/epub+zip' }), /^no META-INF\/container\.xml$/],
    [
      'a rootfile that is not a package document',
      (path: string) => writeZip(path, { 'META-INF/container.xml': container('book.pdf', 'application/pdf') }),
      /rootfile is not a package document/,
    ],
    [
      'a package document the zip lacks',
      (path: string) => writeZip(path, { 'META-INF/container.xml': container('OEBPS/content.opf') }),
      /^no package document OEBPS\/content\.opf$/,
    ],
    [
      'a package document that is not well-formed XML',
      (path: string) => writeZip(path, { 'META-INF/container.xml': container('c.opf'), 'c.opf': '<package><manifest></package>' }),
      /^the package document is not well-formed XML/,
    ],
    [
      'an empty spine',
      (path: string) => writeZip(path, { 'META-INF/container.xml': container('c.opf'), 'c.opf': packageDocument({ a: 'a.xhtml' }, []) }),
      /empty spine/,
    ],
  ])('a file with %s has no spine (EpubError naming why)', async (_what, make, message) => {
    const path = join(dir, 'bad.epub');
    make(path);
    await expect(readSpine(path)).rejects.toMatchObject({ name: 'EpubError', message: expect.stringMatching(message) });
  });

  it('does not read a package document larger than 4 MiB', async () => {
    const huge = packageDocument({ a: 'a.xhtml' }, ['a']).replace('</package>', `<!--${'x'.repeat(4 * 1024 * 1024)}--></package>`);
    await expect(readSpine(epub('huge.epub', 'c.opf', huge))).rejects.toMatchObject({ message: 'c.opf is larger than 4194304 bytes' });
  });

  it('normalizes a Source as a Kobo may report it: decoded, no fragment, no leading slash or dot segment', () => {
    expect(normalizeContentPath('OEBPS/c4.xhtml')).toBe('OEBPS/c4.xhtml');
    expect(normalizeContentPath('/OEBPS/./Text/../c4.xhtml#kobo.1.1')).toBe('OEBPS/c4.xhtml');
    expect(normalizeContentPath('OEBPS/two%20parts.xhtml')).toBe('OEBPS/two parts.xhtml');
    expect(normalizeContentPath('OEBPS/100%.xhtml')).toBe('OEBPS/100%.xhtml');
  });
});

describe('spines kept per version of a file', () => {
  it('answers the same file again from memory while its inode, size and modification time are unchanged', async () => {
    const path = epub('kept.epub', 'c.opf', packageDocument({ a: 'aaaa.xhtml' }, ['a']));
    const mtime = new Date('2026-01-01T00:00:00Z');
    utimesSync(path, mtime, mtime);
    const cache = new SpineCache(10);
    expect(await cache.spineOf(path)).toEqual({ spine: ['aaaa.xhtml'] });
    // As many bytes but another item name, written in place, with the old modification time: not read again.
    const { size } = statSync(path);
    writeZip(path, {
      mimetype: 'application/epub+zip',
      'META-INF/container.xml': container('c.opf'),
      'c.opf': packageDocument({ a: 'bbbb.xhtml' }, ['a']),
    });
    utimesSync(path, mtime, mtime);
    expect(statSync(path).size).toBe(size);
    expect(await cache.spineOf(path)).toEqual({ spine: ['aaaa.xhtml'] });
  });

  it('reads a file again once it changed (a new modification time), and a book made readable later', async () => {
    const path = join(dir, 'changing.epub');
    writeFileSync(path, 'not yet an EPUB');
    const cache = new SpineCache(10);
    expect(await cache.spineOf(path)).toMatchObject({ problem: { name: 'EpubError' } });
    writeZip(path, { 'META-INF/container.xml': container('c.opf'), 'c.opf': packageDocument({ a: 'a.xhtml', b: 'b.xhtml' }, ['a', 'b']) });
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    expect(await cache.spineOf(path)).toEqual({ spine: ['a.xhtml', 'b.xhtml'] });
  });

  it('a missing file has no spine', async () => {
    expect(await new SpineCache(10).spineOf(join(dir, 'absent.epub'))).toMatchObject({ problem: { code: 'ENOENT' } });
  });
});
