import { first, run } from "./sql";

/**
 * The highest number a site has counted from each sender that numbers what it sends, so a call sent
 * again after the site committed it (its answer lost) counts nothing twice. Two senders do:
 * - an event shard's forward of QoE bytes (`shard:` + shard name and run), its reports' ids;
 * - an isolate's link (`isolate:` + isolate id): it numbers its reports and keeps each until a call
 *   that carried it is answered (workers/shared/site-link.ts); every call that carries reports
 *   carries all its unanswered ones, counted in number order, so the highest is all a site keeps.
 */

export const COUNTED_UP_TO_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS counted_up_to (sender TEXT PRIMARY KEY, up_to INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID`,
  `CREATE INDEX IF NOT EXISTS counted_up_to_by_at ON counted_up_to (at)`,
  // Event shards' marks of schema v15, kept.
  `INSERT INTO counted_up_to (sender, up_to, at) SELECT 'shard:' || shard, up_to, at FROM forwarded`,
  `DROP TABLE forwarded`,
];

type Kind = "shard" | "isolate";

/** How long a sender not heard is remembered: an isolate longer than it keeps a report to resend (UNACKED_MAX_AGE_MS), a shard as long as sessions are. */
export const SENDER_MEMORY_MS: Record<Kind, number> = { isolate: 10 * 60_000, shard: 2 * 86_400_000 };
/** Longest sender name taken (a shard's is its object's name and run; an isolate's a UUID). */
const MAX_NAME: Record<Kind, number> = { isolate: 64, shard: 200 };

/** The highest number counted from the sender (0 when none). */
export function countedUpTo(sql: SqlStorage, kind: Kind, name: string): number {
  return first<{ up_to: number }>(sql, `SELECT up_to FROM counted_up_to WHERE sender = ?`, `${kind}:${name}`)?.up_to ?? 0;
}

/** Notes that the sender's numbers up to `upTo` are counted (never lowers the mark); ignores a name past its bound. */
export function noteCountedUpTo(sql: SqlStorage, kind: Kind, name: string, upTo: number, now: number): void {
  if (typeof name !== "string" || name.length === 0 || name.length > MAX_NAME[kind] || !Number.isSafeInteger(upTo)) return;
  run(
    sql,
    `INSERT INTO counted_up_to (sender, up_to, at) VALUES (?, ?, ?) ON CONFLICT (sender) DO UPDATE SET up_to = MAX(up_to, excluded.up_to), at = excluded.at`,
    `${kind}:${name}`,
    upTo,
    now,
  );
}

/** Forgets senders of a kind not heard for SENDER_MEMORY_MS (an index seek that usually finds nothing). */
export function forgetQuietSenders(sql: SqlStorage, kind: Kind, now: number): void {
  // Names run from "kind:" to just before "kind;" (';' follows ':'). The `+` keeps that range off the
  // primary key: as a key range it read every sender of the kind (each isolate syncing lately) on every
  // sync; through the index by time it reads the quiet ones (and the few quiet shards) alone.
  run(sql, `DELETE FROM counted_up_to WHERE at < ? AND +sender >= ? AND +sender < ?`, now - SENDER_MEMORY_MS[kind], `${kind}:`, `${kind};`);
}

/**
 * True when report `seq` of `isolate` is not counted yet, and notes it as counted (call in the
 * transaction that counts it). A report without a number or an isolate (an operator's or a test's
 * direct call) always counts.
 */
export function countOnce(sql: SqlStorage, isolate: unknown, seq: unknown, now: number): boolean {
  if (typeof isolate !== "string" || isolate.length === 0 || isolate.length > MAX_NAME.isolate) return true;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq <= 0) return true;
  if (seq <= countedUpTo(sql, "isolate", isolate)) return false;
  noteCountedUpTo(sql, "isolate", isolate, seq, now);
  return true;
}
