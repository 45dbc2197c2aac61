/**
 * Calibre's yes/no custom column that Calibre-Web's "Read" setting names (config_read_column): which
 * column it is, and its value for a book. Read on metadata.db's read-only connection; `markRead` is the
 * one write, on the writer of db/calibre-writer.ts.
 */
import { calibreQuery } from '../db/calibre-db.js';
import { type Connection, prepared } from '../db/query.js';

/** A custom column of calibre's, by its id, lookup name (`#read` without the `#`) and display name. */
export interface ReadColumn {
  id: number;
  label: string;
  name: string;
}

const columnOf = prepared((p: { id: number }) =>
  calibreQuery.selectFrom('custom_columns').select(['id', 'label', 'name', 'datatype', 'mark_for_delete']).where('id', '=', p.id),
);

/** calibre keeps each custom column's values in a table of its own, named by the column's id. */
function tableOf(column: Pick<ReadColumn, 'id'>): string {
  if (!Number.isSafeInteger(column.id) || column.id <= 0) throw new Error(`not a custom column id: ${column.id}`);
  return `custom_column_${column.id}`;
}

/**
 * The column `id` names when Calibre-Web would accept it as the Read column — a yes/no (`bool`) column
 * not marked for deletion (docs/UPSTREAM.md#calibre-web-the-read-column) — with its values' table
 * present; otherwise what is wrong with it.
 */
export function findReadColumn(conn: Connection, id: number): { column: ReadColumn } | { problem: string } {
  const row = conn.first(columnOf, { id });
  if (!row) return { problem: `config_read_column names custom column ${id}, which metadata.db does not have` };
  const column = { id: row.id, label: row.label, name: row.name };
  const named = `custom column ${id} (#${row.label}, "${row.name}")`;
  if (row.datatype !== 'bool') return { problem: `${named} is a ${row.datatype} column, not yes/no` };
  if (row.mark_for_delete) return { problem: `${named} is marked for deletion in calibre` };
  const table = conn.statement(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(tableOf(column));
  if (!table) return { problem: `${named} has no table ${tableOf(column)} in metadata.db` };
  return { column };
}

/** Whether the column says the book is read (a row with a true value; no row is unread). */
export function isMarkedRead(conn: Connection, column: ReadColumn, bookId: number): boolean {
  const row = conn.statement(`SELECT value FROM ${tableOf(column)} WHERE book = ?`).get(bookId) as { value: unknown } | undefined;
  return row !== undefined && Boolean(row.value);
}

/**
 * Sets the book's value to true as calibre stores it (integer 1), inserting its row when it has none.
 * Only the column's own table is written; calibre's triggers on it refuse a book not in `books`.
 */
export function markRead(conn: Connection, column: ReadColumn, bookId: number): void {
  conn
    .statement(`INSERT INTO ${tableOf(column)} (book, value) VALUES (?, 1) ON CONFLICT (book) DO UPDATE SET value = excluded.value`)
    .run(bookId);
}
