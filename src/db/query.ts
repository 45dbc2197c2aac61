/**
 * Queries: Kysely builds and types the SQL, better-sqlite3 runs it (Connection), and `prepared`
 * compiles a query once for every later run.
 *
 * The rule for `prepared((p) => …)`: the build function runs once, with placeholders standing for the
 * values of every later run. It may only hand `p.<name>` to Kysely as a value (`.where('id', '=', p.id)`,
 * `.values({ a: p.a })`); any logic on it would be computed once, at build time, and silently become a
 * constant of the query. So a placeholder throws PlaceholderMisuse on every other use that can be
 * caught (property reads, arithmetic, templates, comparisons with `<` or `==`, JSON), and a value read
 * but not bound as a parameter (a branch on it) throws when the query is built. `===` and truthiness
 * cannot be caught: never branch on a value; build one query per shape instead (as repos/progress.ts
 * does per number of documents).
 */
import type Database from 'better-sqlite3';
import {
  DummyDriver,
  Kysely,
  LimitNode,
  OperationNodeTransformer,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  ValueNode,
  type Compilable,
  type CompiledQuery,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
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
    plugins: [new InlineLimits()],
  });
}

class InlineLimitTransformer extends OperationNodeTransformer {
  protected override transformLimit(node: LimitNode): LimitNode {
    return ValueNode.is(node.limit) && typeof node.limit.value === 'number'
      ? LimitNode.create(ValueNode.createImmediate(node.limit.value))
      : node;
  }
}

/**
 * Writes `LIMIT n` into the SQL instead of binding it. SQLite (3.46+) treats a bound LIMIT as a
 * constant for planning and marks the statement to be re-prepared whenever it is bound again, so a
 * cached statement with `LIMIT ?` is compiled anew on every run (measured: 3 µs → 9 µs per lookup).
 */
class InlineLimits implements KyselyPlugin {
  private readonly transformer = new InlineLimitTransformer();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.transformer.transformNode(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

/** A placeholder used for anything but a value handed to Kysely (see the rule at the top of this file). */
export class PlaceholderMisuse extends Error {
  override name = 'PlaceholderMisuse';

  constructor(value: string, what: string) {
    super(
      `prepared query: the value \`${value}\` was ${what}; while a prepared query is built its values are ` +
        'placeholders, which may only be passed to Kysely as values (src/db/query.ts)',
    );
  }
}

/** Each placeholder's name: kept outside it, as the placeholder refuses every property read. */
const placeholderNames = new WeakMap<object, string>();

/**
 * Stands for the value `name` while a prepared query is built. Any use but being handed on throws:
 * reading a property (`.length`, `.map`), turning it into a primitive (arithmetic, a template, `<`,
 * `==`, `String()`), JSON, assigning to it. Kysely itself only asks `'expressionType' in value` of a
 * value, which answers false.
 */
function placeholder(name: string): object {
  const refuse = (what: string) => {
    throw new PlaceholderMisuse(name, what);
  };
  const stand = new Proxy(Object.create(null) as object, {
    get: (_target, key) => refuse(typeof key === 'symbol' ? `used as a primitive or an object (${key.description})` : `read for .${key}`),
    set: () => refuse('assigned to'),
    apply: () => refuse('called'),
  });
  placeholderNames.set(stand, name);
  return stand;
}

/**
 * A query built and compiled by Kysely once; each run only binds its values. Building a query costs
 * more than running it on Calibre-Web's small tables (Kysely parses every reference: 4–25 µs, against
 * 2–5 µs for the statement), so the lookups and writes of every request are prepared this way.
 * `build` receives placeholders in place of the values; their positions in the compiled parameters
 * say which value goes to which `?`. A value that was read but is no parameter of the query was used
 * for something else (a branch on it, decided once at build time for every run): that throws too.
 */
export class PreparedQuery<P, R> {
  readonly sql: string;
  private readonly slots: readonly ((values: P) => unknown)[];

  constructor(build: (values: P) => Compilable<R>) {
    const read = new Set<string>();
    const values = new Proxy(Object.create(null) as object, {
      get: (_target, key) => {
        if (typeof key === 'symbol') throw new PlaceholderMisuse('(all values)', `used as a primitive or an object (${key.description})`);
        read.add(key);
        return placeholder(key);
      },
    }) as P;
    const compiled = build(values).compile();
    const bound = compiled.parameters.map((parameter) =>
      typeof parameter === 'object' && parameter ? placeholderNames.get(parameter) : undefined,
    );
    for (const name of read) {
      if (!bound.includes(name)) throw new PlaceholderMisuse(name, 'read but is no parameter of the query (was it branched on?)');
    }
    this.sql = compiled.sql;
    this.slots = compiled.parameters.map((parameter, i) => {
      const name = bound[i];
      return name === undefined ? () => parameter : (run: P) => run[name as keyof P];
    });
  }

  bind(values: P): unknown[] {
    return this.slots.map((slot) => slot(values));
  }
}

export function prepared<P, R>(build: (values: P) => Compilable<R>): PreparedQuery<P, R> {
  return new PreparedQuery(build);
}

type Query<P, R> = Compilable<R> | PreparedQuery<P, R>;

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

  all<R>(query: Compilable<R>): R[];
  all<P, R>(query: PreparedQuery<P, R>, values: P): R[];
  all<P, R>(query: Query<P, R>, values?: P): R[] {
    const [sql, parameters] = sqlOf(query, values);
    return this.statement(sql).all(...parameters) as R[];
  }

  first<R>(query: Compilable<R>): R | undefined;
  first<P, R>(query: PreparedQuery<P, R>, values: P): R | undefined;
  first<P, R>(query: Query<P, R>, values?: P): R | undefined {
    const [sql, parameters] = sqlOf(query, values);
    return this.statement(sql).get(...parameters) as R | undefined;
  }

  /** Runs an INSERT/UPDATE/DELETE; returns the new rowid for inserts. */
  run(query: Compilable<unknown>): { changes: number; lastInsertRowid: number };
  run<P>(query: PreparedQuery<P, unknown>, values: P): { changes: number; lastInsertRowid: number };
  run<P>(query: Query<P, unknown>, values?: P): { changes: number; lastInsertRowid: number } {
    const [sql, parameters] = sqlOf(query, values);
    const result = this.statement(sql).run(...parameters);
    return { changes: result.changes, lastInsertRowid: Number(result.lastInsertRowid) };
  }

  close(): void {
    this.statements.clear();
    if (this.raw.open) this.raw.close();
  }
}

function sqlOf<P, R>(query: Query<P, R>, values: P | undefined): [string, unknown[]] {
  if (query instanceof PreparedQuery) return [query.sql, query.bind(values as P)];
  const compiled: CompiledQuery<R> = query.compile();
  return [compiled.sql, compiled.parameters as unknown[]];
}
