/** Latin letters NFKD does not decompose, and how unidecode spells them (`letter=spelling`). */
const LETTERS: Record<string, string> = Object.fromEntries(
  'ß=ss Æ=AE æ=ae Œ=OE œ=oe Ø=O ø=o Ł=L ł=l Đ=D đ=d Þ=Th þ=th Ð=D ð=d ı=i'.split(' ').map((pair) => pair.split('=')),
);
const LETTER = new RegExp(`[${Object.keys(LETTERS).join('')}]`, 'g');

/**
 * Latin text without its accents, in ASCII letters where unidecode would write them: NFKD, combining
 * marks dropped, then the letters NFKD leaves alone (ß, æ, ø, ł, þ …) spelled out. Other scripts are
 * left as they are.
 */
export function foldLatin(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(LETTER, (c) => LETTERS[c] ?? c);
}
