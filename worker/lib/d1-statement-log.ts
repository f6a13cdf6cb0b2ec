// The D1 statement log (D1_STATEMENT_LOG=true): one line per executed statement, so a benchmark can
// count what each request costs D1 (`npm run bench:storage`) without a model of the code. Off by default.
/** "select executions", "insert test_results": what a statement does and to which table, for the statement log. */
export function statementKind(sql: string): string {
  const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase() ?? '?';
  const table = /\b(?:from|into|update)\s+["`]?(\w+)/i.exec(sql)?.[1] ?? '?';
  return `${verb} ${table}`;
}

/**
 * D1 with one log line per executed statement (`d1-statement select executions`), batches counted
 * statement by statement: what `npm run bench:storage` counts. Only with D1_STATEMENT_LOG=true.
 */
export function loggingD1(d1: D1Database): D1Database {
  const sqlOf = new WeakMap<D1PreparedStatement, string>();
  const log = (stmt: D1PreparedStatement) => console.log(`d1-statement ${statementKind(sqlOf.get(stmt) ?? '?')}`);
  const logged =
    <A extends unknown[], R>(stmt: D1PreparedStatement, call: (...args: A) => R) =>
    (...args: A): R => {
      log(stmt);
      return call(...args);
    };
  const track = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement => {
    sqlOf.set(stmt, sql);
    const bind = stmt.bind.bind(stmt);
    return Object.assign(stmt, {
      bind: (...values: unknown[]) => track(bind(...values), sql),
      run: logged(stmt, stmt.run.bind(stmt)),
      all: logged(stmt, stmt.all.bind(stmt)),
      first: logged(stmt, stmt.first.bind(stmt)),
      raw: logged(stmt, stmt.raw.bind(stmt)),
    });
  };
  const logBatch = (statements: D1PreparedStatement[]) => {
    for (const s of statements) log(s);
  };
  return {
    prepare: (sql: string) => track(d1.prepare(sql), sql),
    batch: (statements: D1PreparedStatement[]) => {
      logBatch(statements);
      return d1.batch(statements);
    },
    exec: (sql: string) => d1.exec(sql),
    dump: () => d1.dump(),
    withSession: (constraint?: string) => {
      const session = d1.withSession(constraint);
      return {
        prepare: (sql: string) => track(session.prepare(sql), sql),
        batch: (statements: D1PreparedStatement[]) => {
          logBatch(statements);
          return session.batch(statements);
        },
        getBookmark: () => session.getBookmark(),
      } as D1DatabaseSession;
    },
  } as D1Database;
}
