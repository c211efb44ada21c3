import { env, runInDurableObject } from "cloudflare:test";
import type { OcaSite } from "../durable-objects/oca-site";

/**
 * Counts the rows a site object's SQLite reads: the object's `sql` is wrapped (one wrapper for the
 * object's life, as its own `sql` is) to add up each cursor's `rowsRead` once the caller is done with
 * it. Rows, not time: workerd's clock does not move during computation. Returns the counter to reset and read.
 */
export async function countSiteRows(stub: DurableObjectStub<OcaSite>): Promise<{ rows: number }> {
  const counter = { rows: 0 };
  await wrapSiteSql(stub, (_q, cursor) => {
    // rowsRead grows as the cursor is read: counted once the caller is done with it.
    queueMicrotask(() => {
      counter.rows += cursor.rowsRead;
    });
  });
  return counter;
}

/** Wraps a site object's `sql` (one wrapper for the object's life, as its own `sql` is): `onExec` sees each statement and its cursor. */
async function wrapSiteSql(
  stub: DurableObjectStub<OcaSite>,
  onExec: (q: string, cursor: SqlStorageCursor<Record<string, SqlStorageValue>>) => void,
): Promise<void> {
  await runInDurableObject(stub, async (o: OcaSite) => {
    const self = o as unknown as { sql: SqlStorage };
    const real = self.sql;
    self.sql = {
      databaseSize: real.databaseSize,
      exec: (q: string, ...args: unknown[]) => {
        const cursor = real.exec(q, ...(args as SqlStorageValue[]));
        onExec(q, cursor);
        return cursor;
      },
    } as SqlStorage;
  });
}

/**
 * Puts a watch on a site object's D1: `onQuery` sees each statement's SQL as it is prepared and may
 * throw to fail it (the local D1 cannot fail on cue; the rest of D1 answers as it is). Returns the undo.
 */
export async function watchSiteD1(stub: DurableObjectStub<OcaSite>, onQuery: (sql: string) => void): Promise<() => Promise<void>> {
  await runInDurableObject(stub, async (o: OcaSite) => {
    (o as unknown as { env: Env }).env = {
      ...env,
      DB: new Proxy(env.DB, {
        get(target, prop) {
          if (prop === "prepare")
            return (q: string) => {
              onQuery(q);
              return target.prepare(q);
            };
          const v = Reflect.get(target, prop);
          return typeof v === "function" ? v.bind(target) : v;
        },
      }),
    };
  });
  return () =>
    runInDurableObject(stub, async (o: OcaSite) => {
      (o as unknown as { env: Env }).env = env;
    });
}

/** Statements that read the catalogue's files table (a title's every file). */
export const READS_FILES = /FROM files f/;

/** Counts the statements a site object runs whose SQL matches `pattern` (the object's `sql` wrapped, as countSiteRows). */
export async function countSiteStatements(stub: DurableObjectStub<OcaSite>, pattern: RegExp): Promise<{ n: number }> {
  const counter = { n: 0 };
  await wrapSiteSql(stub, (q) => {
    if (pattern.test(q)) counter.n++;
  });
  return counter;
}
