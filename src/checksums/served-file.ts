import type { Clock } from '../clock.js';
import { formatSqlDatetime } from '../db/datetime.js';
import type { StateDb } from '../db/state-db.js';
import { recordDocument } from '../repos/checksum-index.js';
import { filenameDocumentIds } from './file-names.js';
import { PartialMd5Sampler } from './partial-md5.js';

/** A parameter of a Content-Disposition header: its name and its value, quoted or not. */
const PARAMETER = /;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g;

/**
 * The file names a download's `Content-Disposition` gives: Calibre-Web's get_download_link sets
 * `filename*` (UTF-8, percent-encoded: the name as it is) and `filename` (the name in ASCII)
 * (docs/UPSTREAM.md#calibre-web-downloads). A browser saves the first, a client that reads only
 * `filename` the second. Names with a path separator are not file names and are left out.
 */
export function servedFileNames(contentDisposition: string | undefined): string[] {
  const extended: string[] = [];
  const plain: string[] = [];
  for (const [, name, raw] of `;${contentDisposition ?? ''}`.matchAll(PARAMETER)) {
    const key = name!.toLowerCase();
    if (key === 'filename*') {
      const encoded = /^utf-8'[^']*'(.*)$/i.exec(raw!)?.[1];
      try {
        if (encoded !== undefined) extended.push(decodeURIComponent(encoded));
      } catch {
        // not percent-encoded UTF-8: no name from it
      }
    } else if (key === 'filename') {
      plain.push(raw!.startsWith('"') ? raw!.slice(1, -1).replace(/\\(.)/g, '$1') : raw!);
    }
  }
  // The UTF-8 name first: it is the one the file is known by wherever both are read.
  return [...new Set([...extended, ...plain])].filter((n) => n !== '' && !/[/\\]/.test(n));
}

/** What a complete download was: the book and format of its path, the served names, and its bytes' partial MD5. */
interface ServedFile {
  bookId: number;
  /** Upper-case, e.g. EPUB. */
  format: string;
  names: string[];
  /** The path it was served at, for the record when it carried no name. */
  path: string;
}

/**
 * Counts and samples a download's bytes as they pass (PartialMd5Sampler: at most 12 KiB kept), and
 * records the file once it is known to be complete: its KOReader partial MD5 as a `download` id of the
 * book and format, and the "filename" ids of the names it was served under, in the checksum index.
 */
export class DownloadTap {
  private readonly sampler = new PartialMd5Sampler();

  constructor(
    private readonly file: ServedFile,
    private readonly deps: { state: StateDb; clock: Clock },
  ) {}

  update(chunk: Uint8Array): void {
    this.sampler.update(chunk);
  }

  get bytes(): number {
    return this.sampler.bytes;
  }

  /** Records the file (in the background while another process holds the state DB's lock); returns its id. */
  record(): string {
    const { bookId, format, names, path } = this.file;
    const document = this.sampler.digest();
    const seen = formatSqlDatetime(this.deps.clock.nowMicros());
    const ids = names.flatMap((name) => filenameDocumentIds(name));
    this.deps.state.later(`download:${document}:${bookId}:${format}`, 'recording a file Calibre-Web served', (conn) => {
      recordDocument(conn, { document, bookId, format, method: 'download', detail: names[0] ?? path, seen });
      for (const id of ids) recordDocument(conn, { document: id.document, bookId, format, method: 'filename', detail: id.name, seen });
    });
    return document;
  }
}
