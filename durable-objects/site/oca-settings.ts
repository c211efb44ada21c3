import type { OcaSpec } from "../../workers/shared/topology";
import type { OcaHealth } from "../../workers/shared/site-view";
import { first, run } from "./sql";

/**
 * What operators set per OCA on top of the topology: health (drained or failed; absent: the automatic state), usable capacity (a disk went bad) and
 * throughput limit. Absent rows mean the topology's values.
 */

export function healthOf(sql: SqlStorage, ocaId: string): OcaHealth {
  return first<{ health: OcaHealth }>(sql, `SELECT health FROM oca_health WHERE oca_id = ?`, ocaId)?.health ?? "healthy";
}

/** An operator's health setting for an OCA and when it was set; null when none (the automatic state stands). */
export function operatorHealthOf(sql: SqlStorage, ocaId: string): { health: OcaHealth; since: number } | null {
  const r = first<{ health: OcaHealth; updated_at: number }>(sql, `SELECT health, updated_at FROM oca_health WHERE oca_id = ?`, ocaId);
  return r ? { health: r.health, since: r.updated_at } : null;
}

export function setHealthRow(sql: SqlStorage, ocaId: string, health: OcaHealth, now: number): void {
  run(sql, `INSERT OR REPLACE INTO oca_health (oca_id, health, updated_at) VALUES (?, ?, ?)`, ocaId, health, now);
}

/** An operator's restore: no override left. */
export function clearHealthRow(sql: SqlStorage, ocaId: string): void {
  run(sql, `DELETE FROM oca_health WHERE oca_id = ?`, ocaId);
}

export function capacityOf(sql: SqlStorage, oca: OcaSpec): number {
  return first<{ capacity_bytes: number }>(sql, `SELECT capacity_bytes FROM oca_capacity WHERE oca_id = ?`, oca.id)?.capacity_bytes ?? oca.capacityBytes;
}

export function setCapacityRow(sql: SqlStorage, ocaId: string, capacityBytes: number | null): void {
  if (capacityBytes === null) run(sql, `DELETE FROM oca_capacity WHERE oca_id = ?`, ocaId);
  else run(sql, `INSERT OR REPLACE INTO oca_capacity (oca_id, capacity_bytes) VALUES (?, ?)`, ocaId, capacityBytes);
}

export function throughputOf(sql: SqlStorage, oca: OcaSpec): number {
  return first<{ throughput_bps: number }>(sql, `SELECT throughput_bps FROM oca_throughput WHERE oca_id = ?`, oca.id)?.throughput_bps ?? oca.throughputBps;
}

export function setThroughputRow(sql: SqlStorage, ocaId: string, throughputBps: number | null): void {
  if (throughputBps === null) run(sql, `DELETE FROM oca_throughput WHERE oca_id = ?`, ocaId);
  else run(sql, `INSERT OR REPLACE INTO oca_throughput (oca_id, throughput_bps) VALUES (?, ?)`, ocaId, throughputBps);
}
