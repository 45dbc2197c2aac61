import { createHash } from 'node:crypto';

/** md5 of the UTF-8 text as lower-case hex (KOReader's userkey and its "filename" document ids). */
export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}
