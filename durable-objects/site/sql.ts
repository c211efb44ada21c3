/** Small typed helpers over a Durable Object's SqlStorage, shared by the site's modules. */

export type SqlValue = string | number | null | ArrayBuffer;

/** Every row of a query. */
export function rows<T extends Record<string, SqlStorageValue>>(sql: SqlStorage, query: string, ...bindings: SqlValue[]): T[] {
  return sql.exec<T>(query, ...bindings).toArray();
}

/** The first row of a query, or undefined. */
export function first<T extends Record<string, SqlStorageValue>>(sql: SqlStorage, query: string, ...bindings: SqlValue[]): T | undefined {
  return sql.exec<T>(query, ...bindings).toArray()[0];
}

/** Runs a statement; returns the rows it wrote. */
export function run(sql: SqlStorage, query: string, ...bindings: SqlValue[]): number {
  return sql.exec(query, ...bindings).rowsWritten;
}

/** A value of the site's key-value `meta` table. */
export function getMeta(sql: SqlStorage, key: string): string | null {
  return first<{ value: string }>(sql, `SELECT value FROM meta WHERE key = ?`, key)?.value ?? null;
}

/** Sets (or, with null, removes) a value of the `meta` table. */
export function setMeta(sql: SqlStorage, key: string, value: string | number | null): void {
  if (value === null) run(sql, `DELETE FROM meta WHERE key = ?`, key);
  // An upsert writes one row where a REPLACE (a delete and an insert) writes two.
  else run(sql, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, String(value));
}

/** A JSON value of the `meta` table, or `fallback`. */
export function getMetaJson<T>(sql: SqlStorage, key: string, fallback: T): T {
  const raw = getMeta(sql, key);
  if (raw === null) return fallback;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return fallback;
  }
}
