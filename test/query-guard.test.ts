import { describe, expect, it } from 'vitest';
import { calibreQuery } from '../src/db/calibre-db.js';
import { PlaceholderMisuse, prepared } from '../src/db/query.js';

type Values = { id: number; title: string };
const books = () => calibreQuery.selectFrom('books').select('title');

describe('prepared queries refuse any use of a value but handing it to Kysely', () => {
  it('compiles a query that only passes its values on, and binds them in order on each run', () => {
    const query = prepared((p: Values) => books().where('id', '=', p.id).where('title', '!=', p.title).limit(1));
    expect(query.sql).toBe('select "title" from "books" where "id" = ? and "title" != ? limit 1');
    expect(query.bind({ id: 7, title: 'x' })).toEqual([7, 'x']);
  });

  it.each([
    ['arithmetic', (p: Values) => books().where('id', '=', (p.id as unknown as number) + 1)],
    ['a template', (p: Values) => books().where('title', '=', `${p.title}%`)],
    ['a comparison with <', (p: Values) => books().where('id', '=', (p.id as unknown as number) < 3 ? 1 : 2)],
    // biome-ignore lint/suspicious/noDoubleEquals: the misuse shown here
    ['a loose comparison (==)', (p: Values) => books().where('id', '=', (p.id as unknown) == 3 ? 1 : 2)],
    ['a property read', (p: Values) => books().where('title', '=', p.title.toLowerCase())],
    ['JSON', (p: Values) => books().where('title', '=', JSON.stringify(p.title))],
    ['a branch on its truthiness', (p: Values) => (p.title ? books().where('id', '=', 1) : books())],
    ['a strict comparison', (p: Values) => books().where('id', '=', p.id === 3 ? 1 : 2)],
  ])('throws when a value is used in %s', (_use, build) => {
    expect(() => prepared(build)).toThrow(PlaceholderMisuse);
  });
});
