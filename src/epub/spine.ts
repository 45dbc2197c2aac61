import { posix } from 'node:path';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import yauzl, { type Entry, type ZipFile } from 'yauzl';

/** Where an EPUB names its package document (OCF). */
const CONTAINER = 'META-INF/container.xml';
const PACKAGE_MEDIA_TYPE = 'application/oebps-package+xml';
/** container.xml and the OPF are a few KiB; anything past this is not read (a zip bomb stays shut). */
const MAX_XML_BYTES = 4 * 1024 * 1024;

/** Why a file has no spine: not a zip, no container or package, XML that does not parse, an empty spine. */
export class EpubError extends Error {
  override name = 'EpubError';
}

/**
 * The spine of an EPUB or KEPUB: each content document's path from the zip root, in reading order.
 * Item i is what KOReader calls `/body/DocFragment[i+1]` and what a Kobo reports as a bookmark's
 * `Source` (docs/UPSTREAM.md#koreader-docfragments-and-the-spine).
 */
export async function readSpine(file: string): Promise<string[]> {
  const zip = await openZip(file);
  try {
    const entries = await listEntries(zip);
    const container = entries.get(CONTAINER);
    if (!container) throw new EpubError(`no ${CONTAINER}`);
    const packagePath = rootfileOf(await readText(zip, container));
    const opf = entries.get(packagePath);
    if (!opf) throw new EpubError(`no package document ${packagePath}`);
    const spine = spineOf(await readText(zip, opf), posix.dirname(packagePath));
    if (spine.length === 0) throw new EpubError(`the package document ${packagePath} has an empty spine`);
    return spine;
  } finally {
    zip.close();
  }
}

/**
 * A content path as a Kobo or an OPF names it, the way the spine stores it: percent-escapes decoded,
 * no fragment, `.` and `..` resolved, no leading `/`.
 */
export function normalizeContentPath(path: string): string {
  const withoutFragment = path.split('#', 1)[0]!;
  let decoded: string;
  try {
    decoded = decodeURIComponent(withoutFragment);
  } catch {
    decoded = withoutFragment; // a stray `%` is a file name character
  }
  return posix.normalize(decoded).replace(/^(\.\/|\/)+/, '');
}

/** The first rootfile of container.xml, which must be a package document (crengine reads it so). */
function rootfileOf(xml: string): string {
  let rootfile: { path: string; mediaType: string } | undefined;
  parseXml(xml, CONTAINER, (tag, within) => {
    if (rootfile || tag.local !== 'rootfile' || within.at(-1) !== 'rootfiles') return;
    rootfile = { path: attribute(tag, 'full-path') ?? '', mediaType: attribute(tag, 'media-type') ?? '' };
  });
  if (!rootfile || rootfile.path === '') throw new EpubError(`${CONTAINER} names no rootfile`);
  if (rootfile.mediaType !== PACKAGE_MEDIA_TYPE) throw new EpubError(`${CONTAINER}'s rootfile is not a package document`);
  return normalizeContentPath(rootfile.path);
}

/**
 * The package document's spine as paths from the zip root: every `itemref` whose `idref` names a
 * manifest item with an id and an href, in order, linear or not (each is a DocFragment to KOReader).
 */
function spineOf(xml: string, packageDir: string): string[] {
  const manifest = new Map<string, string>();
  const idrefs: string[] = [];
  parseXml(xml, 'the package document', (tag, within) => {
    const parent = within.at(-1);
    if (tag.local === 'item' && parent === 'manifest') {
      const id = attribute(tag, 'id');
      const href = attribute(tag, 'href');
      if (id && href && !manifest.has(id)) manifest.set(id, href);
    } else if (tag.local === 'itemref' && parent === 'spine') {
      idrefs.push(attribute(tag, 'idref') ?? '');
    }
  });
  return idrefs.flatMap((idref) => {
    const href = manifest.get(idref);
    return href === undefined ? [] : [normalizeContentPath(posix.join(packageDir, href.split('#', 1)[0]!))];
  });
}

/** An attribute without a namespace, by its local name. */
function attribute(tag: SaxesTagNS, name: string): string | undefined {
  return Object.values(tag.attributes).find((a) => a.local === name && a.uri === '')?.value;
}

/** Strict, namespace-aware XML; `onOpen` gets each element with the local names of the elements it is in. */
function parseXml(xml: string, what: string, onOpen: (tag: SaxesTagNS, within: readonly string[]) => void): void {
  const parser = new SaxesParser({ xmlns: true });
  const open: string[] = [];
  let failure: Error | undefined;
  parser.on('error', (error) => {
    failure ??= error;
  });
  parser.on('opentag', (tag) => {
    onOpen(tag, open);
    if (!tag.isSelfClosing) open.push(tag.local);
  });
  parser.on('closetag', (tag) => {
    if (!tag.isSelfClosing) open.pop();
  });
  parser.write(xml.replace(/^\uFEFF/, '')).close();
  if (failure) throw new EpubError(`${what} is not well-formed XML: ${failure.message}`);
}

function openZip(file: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false }, (error, zip) => {
      if (error) reject(new EpubError(`not a zip file: ${error.message}`, { cause: error }));
      else resolve(zip);
    });
  });
}

/** The zip's central directory, by entry name (the first of duplicate names, as readers take it). */
function listEntries(zip: ZipFile): Promise<Map<string, Entry>> {
  return new Promise((resolve, reject) => {
    const entries = new Map<string, Entry>();
    zip.on('entry', (entry: Entry) => {
      if (!entries.has(entry.fileName)) entries.set(entry.fileName, entry);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', (error: Error) => reject(new EpubError(`damaged zip file: ${error.message}`, { cause: error })));
    zip.readEntry();
  });
}

function readText(zip: ZipFile, entry: Entry): Promise<string> {
  if (entry.uncompressedSize > MAX_XML_BYTES)
    return Promise.reject(new EpubError(`${entry.fileName} is larger than ${MAX_XML_BYTES} bytes`));
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error) {
        reject(new EpubError(`${entry.fileName} cannot be read: ${error.message}`, { cause: error }));
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('error', (failure: Error) =>
        reject(new EpubError(`${entry.fileName} cannot be read: ${failure.message}`, { cause: failure })),
      );
      stream.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  });
}
