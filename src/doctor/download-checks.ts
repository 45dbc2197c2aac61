import { type Finding, note, ok, warn } from './findings.js';
import { probe } from './probe.js';

const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');

/**
 * What makes Calibre-Web change a file on download (docs/UPSTREAM.md#calibre-web-downloads):
 * config_embed_metadata (on by default) with calibre's binaries (every format but KEPUB) or kepubify's
 * (KEPUB) configured; undefined when it serves library files unchanged.
 */
function embedding(settings: Record<string, unknown>): string | undefined {
  const embed = settings.config_embed_metadata;
  if (embed === 0 || embed === '0' || embed === false) return undefined;
  const tools = [
    text(settings.config_binariesdir) && `calibre's binaries in ${text(settings.config_binariesdir)}`,
    text(settings.config_kepubifypath) && `kepubify in ${text(settings.config_kepubifypath)} (KEPUB)`,
  ].filter(Boolean);
  return tools.length > 0 ? tools.join(', ') : undefined;
}

/**
 * Whether the files readers download match: Calibre-Web embedding metadata on download without the
 * download tap is a warning; with the tap, whether Calibre-Web answers at KOSYNC_CALIBRE_WEB_URL.
 */
export async function inspectDownloads(calibreWebUrl: string | undefined, settings: Record<string, unknown>): Promise<Finding[]> {
  const embeds = embedding(settings);
  if (!calibreWebUrl) {
    return embeds
      ? [
          warn(
            `Calibre-Web embeds metadata into every download (${embeds}): a book a reader downloads from it is not ` +
              'the library file and matches no book unless the download passes through the sidecar. Set ' +
              "KOSYNC_CALIBRE_WEB_URL to Calibre-Web's address and route its download paths to the sidecar " +
              "(README: the download tap), or have readers turn on KOReader's Send document metadata",
          ),
        ]
      : [];
  }
  const answered = await probe(new URL('/login', calibreWebUrl));
  const findings: Finding[] = [
    answered === undefined
      ? warn(`download tap: nothing answers at ${calibreWebUrl} (KOSYNC_CALIBRE_WEB_URL); downloads through the sidecar get 502`)
      : ok(`download tap: Calibre-Web answers at ${calibreWebUrl} (status ${answered})`),
  ];
  findings.push(
    embeds
      ? ok(`Calibre-Web embeds metadata into downloads (${embeds}): the tap records each file it serves`)
      : note('Calibre-Web serves library files unchanged (no metadata embedded on download): they match without the tap'),
  );
  return findings;
}
