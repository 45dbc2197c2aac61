import type Database from 'better-sqlite3';
import {
  DummyDriver,
  Kysely,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type Compilable,
  type CompiledQuery,
} from 'kysely';

/**
 * Kysely builds and types the SQL; better-sqlite3 runs it synchronously with statements prepared once
 * per connection. Synchronous execution is what lets a whole sync be one short `BEGIN IMMEDIATE`
 * transaction without yielding to other requests in the middle of it.
 */
export function queryBuilder<DB>(): Kysely<DB> {
  return new Kysely<DB>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new SqliteIntrospector(db),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  });
}

/** A better-sqlite3 connection with a cache of its prepared statements, keyed by SQL text. */
export class Connection {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly raw: Database.Database) {}

  statement(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.raw.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  all<R>(query: Compilable<R>): R[] {
    const compiled: CompiledQuery<R> = query.compile();
    return this.statement(compiled.sql).all(...(compiled.parameters as unknown[])) as R[];
  }

  first<R>(query: Compilable<R>): R | undefined {
    const compiled: CompiledQuery<R> = query.compile();
    return this.statement(compiled.sql).get(...(compiled.parameters as unknown[])) as R | undefined;
  }

  /** Runs an INSERT/UPDATE/DELETE; returns the new rowid for inserts. */
  run(query: Compilable<unknown>): { changes: number; lastInsertRowid: number } {
    const compiled = query.compile();
    const result = this.statement(compiled.sql).run(...(compiled.parameters as unknown[]));
    return { changes: result.changes, lastInsertRowid: Number(result.lastInsertRowid) };
  }

  close(): void {
    this.statements.clear();
    if (this.raw.open) this.raw.close();
  }
}
