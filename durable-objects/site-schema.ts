import { VIEWING_SCHEMA } from "./viewing-history";

/** SQLite schema of an OcaSite Durable Object; applied in the constructor, idempotent. */
export const SITE_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS oca_capacity (oca_id TEXT PRIMARY KEY, capacity_bytes INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS oca_throughput (oca_id TEXT PRIMARY KEY, throughput_bps INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS oca_health (oca_id TEXT PRIMARY KEY, health TEXT NOT NULL, updated_at INTEGER NOT NULL)`,
  // What each OCA holds, file by file. 'filling' rows reserve space; only 'ready' rows are served or counted.
  `CREATE TABLE IF NOT EXISTS holdings (
     oca_id TEXT NOT NULL, title_id TEXT NOT NULL, path TEXT NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
     state TEXT NOT NULL, source TEXT, updated_at INTEGER NOT NULL, PRIMARY KEY (oca_id, title_id, path))`,
  `CREATE TABLE IF NOT EXISTS misses (
     oca_id TEXT NOT NULL, title_id TEXT NOT NULL, count INTEGER NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (oca_id, title_id))`,
  // The current fill plan: what each OCA should hold.
  `CREATE TABLE IF NOT EXISTS plan (oca_id TEXT NOT NULL, title_id TEXT NOT NULL, PRIMARY KEY (oca_id, title_id))`,
  // Files still to copy under the plan; the alarm works through them.
  `CREATE TABLE IF NOT EXISTS fill_tasks (
     oca_id TEXT NOT NULL, title_id TEXT NOT NULL, path TEXT NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
     created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, PRIMARY KEY (oca_id, title_id, path))`,
  // Load reported by the data plane, batched: bytes per OCA per report, sessions last seen.
  `CREATE TABLE IF NOT EXISTS oca_load (oca_id TEXT PRIMARY KEY, egress_bps REAL NOT NULL, updated_at INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS oca_sessions (oca_id TEXT NOT NULL, session_id TEXT NOT NULL, last_seen INTEGER NOT NULL, PRIMARY KEY (oca_id, session_id))`,
  `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  ...VIEWING_SCHEMA,
];
