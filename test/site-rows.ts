import { runInDurableObject } from "cloudflare:test";
import type { OcaSite } from "../durable-objects/oca-site";

/**
 * Counts the rows a site object's SQLite reads: the object's `sql` is wrapped (one wrapper for the
 * object's life, as its own `sql` is) to add up each cursor's `rowsRead` once the caller is done with
 * it. Rows, not time: workerd's clock does not move during computation. Returns the counter to reset and read.
 */
export async function countSiteRows(stub: DurableObjectStub<OcaSite>): Promise<{ rows: number }> {
  const counter = { rows: 0 };
  await runInDurableObject(stub, async (o: OcaSite) => {
    const self = o as unknown as { sql: SqlStorage };
    const real = self.sql;
    self.sql = {
      databaseSize: real.databaseSize,
      exec: (q: string, ...args: unknown[]) => {
        const cursor = real.exec(q, ...(args as SqlStorageValue[]));
        // rowsRead grows as the cursor is read: counted once the caller is done with it.
        queueMicrotask(() => {
          counter.rows += cursor.rowsRead;
        });
        return cursor;
      },
    } as SqlStorage;
  });
  return counter;
}
