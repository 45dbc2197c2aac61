import { writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';

/**
 * A zip file of `entries` (stored, no compression), as an EPUB is: for tests that need an EPUB whose
 * package document has a given shape. Real zip structure (local headers, central directory, end
 * record), read back by the same library the server uses.
 */
export function writeZip(path: string, entries: Record<string, string | Buffer>): void {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(entries)) {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const fileName = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt32LE(0, 10); // time and date
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fileName.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, fileName, data);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(0x0800, 8);
    header.writeUInt16LE(0, 10);
    header.writeUInt32LE(0, 12);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(data.length, 20);
    header.writeUInt32LE(data.length, 24);
    header.writeUInt16LE(fileName.length, 28);
    header.writeUInt32LE(offset, 42);
    central.push(header, fileName);
    offset += local.length + fileName.length + data.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  writeFileSync(path, Buffer.concat([...locals, directory, end]));
}

/** container.xml naming the package document at `opfPath`. */
export function container(opfPath: string, mediaType = 'application/oebps-package+xml'): string {
  return (
    '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">' +
    `<rootfiles><rootfile full-path="${opfPath}" media-type="${mediaType}"/></rootfiles></container>`
  );
}

/** A package document with `manifest` items (id → href) and `spine` itemrefs (idrefs, or raw itemref attributes). */
export function packageDocument(manifest: Record<string, string>, spine: string[]): string {
  const items = Object.entries(manifest)
    .map(([id, href]) => `<item id="${id}" href="${href}" media-type="application/xhtml+xml"/>`)
    .join('');
  const itemrefs = spine.map((ref) => (ref.includes('=') ? `<itemref ${ref}/>` : `<itemref idref="${ref}"/>`)).join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid">' +
    '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="uid">x</dc:identifier></metadata>' +
    `<manifest>${items}</manifest><spine>${itemrefs}</spine></package>`
  );
}
