import { HOLDINGS_SCALE_SCHEMA, TITLE_SUMMARY_SCHEMA, UNSETTLED_ROWS_SCHEMA } from "./holdings";
import { CLAIMED_SCHEMA, EARLY_SERVED_SCHEMA, FORWARDS_SCHEMA, SESSION_SETTLE_SCHEMA, VIEWING_SCHEMA } from "./viewing-history";
import { SESSION_EVENTS_SCHEMA } from "./session-events";
import {
  AUTO_HEALTH_SCHEMA,
  CLIENT_REPORTERS_SCHEMA,
  RECOVERY_SPELL_SCHEMA,
  REPORTER_SESSIONS_SCHEMA,
  TRAFFIC_MEMBERS_SCHEMA,
  TRAFFIC_SCHEMA,
} from "./auto-health";
import { SERVED_HOURLY_SCHEMA, SERVED_SCHEMA } from "./served";
import { CMCD_HEARD_SCHEMA, CMCD_SCHEMA } from "./cmcd";
import { COUNTED_UP_TO_SCHEMA } from "./counted-up-to";
import { PLAN_QUEUE_SCHEMA } from "./plan";
import { SEEN_BUCKET_SCHEMA } from "./load";
import { RETIRED_OCAS_SCHEMA } from "./retired-ocas";
import { first, rows, run } from "./sql";

/**
 * The site's SQLite schema as numbered migrations, applied in order in the constructor and
 * recorded in `schema_migrations`, so a live site's tables move forward with the code. Version 1 is
 * the schema sites had before versioning; its statements are idempotent, so such a site adopts it.
 */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export const SITE_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "initial",
    statements: [
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
    ],
  },
  {
    version: 2,
    name: "fill retries with backoff and parking; misses by kind",
    statements: [
      `ALTER TABLE fill_tasks ADD COLUMN next_at INTEGER NOT NULL DEFAULT 0`,
      `ALTER TABLE fill_tasks ADD COLUMN failed_sources TEXT NOT NULL DEFAULT ''`,
      `ALTER TABLE fill_tasks ADD COLUMN parked_at INTEGER`,
      `CREATE TABLE misses_v2 (
         oca_id TEXT NOT NULL, title_id TEXT NOT NULL, kind TEXT NOT NULL, count INTEGER NOT NULL, bytes INTEGER NOT NULL,
         PRIMARY KEY (oca_id, title_id, kind))`,
      `INSERT INTO misses_v2 (oca_id, title_id, kind, count, bytes) SELECT oca_id, title_id, 'content', count, bytes FROM misses`,
      `DROP TABLE misses`,
      `ALTER TABLE misses_v2 RENAME TO misses`,
    ],
  },
  {
    version: 3,
    name: "content-addressed copies: a file is (path, sha256), so two versions of a title coexist",
    statements: [
      `CREATE TABLE holdings_v3 (
         oca_id TEXT NOT NULL, title_id TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL, bytes INTEGER NOT NULL,
         state TEXT NOT NULL, source TEXT, updated_at INTEGER NOT NULL, PRIMARY KEY (oca_id, title_id, path, sha256))`,
      // Copies made before content addressing sit under keys without a content tag: the next alarm deletes them.
      `CREATE TABLE legacy_objects (oca_id TEXT NOT NULL, title_id TEXT NOT NULL, path TEXT NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (oca_id, title_id, path))`,
      `INSERT INTO legacy_objects (oca_id, title_id, path, bytes) SELECT oca_id, title_id, path, bytes FROM holdings`,
      `DROP TABLE holdings`,
      `ALTER TABLE holdings_v3 RENAME TO holdings`,
      `CREATE TABLE fill_tasks_v3 (
         oca_id TEXT NOT NULL, title_id TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL, bytes INTEGER NOT NULL,
         created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, next_at INTEGER NOT NULL DEFAULT 0,
         failed_sources TEXT NOT NULL DEFAULT '', parked_at INTEGER, PRIMARY KEY (oca_id, title_id, path, sha256))`,
      `DROP TABLE fill_tasks`,
      `ALTER TABLE fill_tasks_v3 RENAME TO fill_tasks`,
      // The queue was dropped: the next cron run re-plans today and re-queues what is missing.
      `DELETE FROM meta WHERE key = 'planned_day'`,
    ],
  },
  {
    version: 4,
    name: "play and QoE events of the site's sessions (moved off D1)",
    statements: SESSION_EVENTS_SCHEMA,
  },
  {
    version: 5,
    name: "plays batched with the site's sync: a play record may follow its session's first report",
    statements: [`ALTER TABLE session_views ADD COLUMN play_counted INTEGER NOT NULL DEFAULT 1`],
  },
  {
    version: 6,
    name: "QoE events moved to the site's sharded session logs",
    statements: [`DROP TABLE IF EXISTS play_events`, `DROP TABLE IF EXISTS event_batches`],
  },
  {
    version: 7,
    name: "automatic OCA health: signals, states with hysteresis, transitions, fault switches",
    // An operator's 'healthy' row was the default; it is now the absence of an override.
    statements: [...AUTO_HEALTH_SCHEMA, `DELETE FROM oca_health WHERE health = 'healthy'`],
  },
  {
    version: 8,
    name: "bytes served per day by source, for the operator dashboard",
    statements: SERVED_SCHEMA,
  },
  {
    version: 9,
    name: "bytes served per local hour, the evening peak the fill cycle sizes replicas for",
    statements: SERVED_HOURLY_SCHEMA,
  },
  {
    version: 10,
    name: "CMCD of the site's sessions (stock players' QoE); their bytes count in the viewing history",
    statements: CMCD_SCHEMA,
  },
  {
    version: 11,
    name: "clients' reports of a failing OCA counted by distinct member (oca_signals.client_reports no longer written)",
    statements: CLIENT_REPORTERS_SCHEMA,
  },
  {
    version: 12,
    name: "a session's play estimate is settled when it stops, never shows, or ends",
    statements: SESSION_SETTLE_SCHEMA,
  },
  {
    version: 13,
    name: "lookups that stay cheap as a site grows: holdings by title, each OCA's bytes kept by triggers, views by title, sessions by last seen",
    statements: [
      ...HOLDINGS_SCALE_SCHEMA,
      `CREATE INDEX IF NOT EXISTS views_by_title ON views (title_id, day)`,
      `CREATE INDEX IF NOT EXISTS oca_sessions_by_seen ON oca_sessions (last_seen)`,
    ],
  },
  {
    version: 14,
    name: "each OCA's traffic signals summed per quarter second, not one row per report (oca_signals keeps the probes)",
    statements: TRAFFIC_SCHEMA,
  },
  {
    version: 15,
    name: "event shards' forwards counted once (the last report id of each shard's run)",
    statements: FORWARDS_SCHEMA,
  },
  {
    version: 16,
    name: "isolates' reports counted once, beside event shards' forwards: the highest number counted per sender, one table",
    statements: COUNTED_UP_TO_SCHEMA,
  },
  {
    version: 17,
    name: "the sessions of clients' reports of a failing OCA, left out of the healthy traffic that outweighs them",
    statements: REPORTER_SESSIONS_SCHEMA,
  },
  {
    version: 18,
    name: "bytes served to a home session before its play's record arrived, kept for it",
    statements: EARLY_SERVED_SCHEMA,
  },
  {
    version: 19,
    name: "healthy traffic weighed per member: the streams object id of each session served and of each reporter",
    statements: TRAFFIC_MEMBERS_SCHEMA,
  },
  {
    version: 20,
    name: "due fill tasks read a page at a time, oldest first, through an index",
    statements: [`CREATE INDEX IF NOT EXISTS fill_tasks_by_age ON fill_tasks (created_at, title_id, oca_id, path, sha256)`],
  },
  {
    version: 21,
    name: "due fill tasks in the plan's order: each title's rank on its OCA first, then age",
    // Tasks queued before rank 0 until the next plan ranks them.
    statements: [
      `ALTER TABLE fill_tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 0`,
      `DROP INDEX IF EXISTS fill_tasks_by_age`,
      `CREATE INDEX IF NOT EXISTS fill_tasks_by_rank ON fill_tasks (priority, created_at, title_id, oca_id, path, sha256)`,
    ],
  },
  {
    version: 22,
    name: "queued tasks found by their file: whether a peer fetches it first, what a re-publish superseded",
    statements: [`CREATE INDEX IF NOT EXISTS fill_tasks_by_file ON fill_tasks (title_id, path, sha256)`],
  },
  {
    version: 23,
    name: "a plan's titles queued a few at a time as the fill works through them, in each OCA's order",
    statements: PLAN_QUEUE_SCHEMA,
  },
  {
    version: 24,
    name: "each OCA's titles summed by triggers, so operators, the planner and the reconcile read a row per title, not per file",
    statements: TITLE_SUMMARY_SCHEMA,
  },
  {
    version: 25,
    name: "half-made and half-evicted holdings found through an index, not a scan of every file",
    statements: UNSETTLED_ROWS_SCHEMA,
  },
  {
    version: 26,
    name: "a session's CMCD row forgotten by when the site last heard of it, to a minute: its index written once a minute, not per report",
    statements: CMCD_HEARD_SCHEMA,
  },
  {
    version: 27,
    name: "a session's activity on an OCA cleaned up by a 30 s bucket of when it was seen: its exact time not indexed, so a report writes one row, not two",
    statements: SEEN_BUCKET_SCHEMA,
  },
  {
    version: 28,
    name: "a client's bytes claimed past what the data plane had served yet wait for its figure (held up to 12 s and a sync), not dropped",
    statements: CLAIMED_SCHEMA,
  },
  {
    version: 29,
    name: "a retired OCA's rows deleted at once and its copies once no session can ask for them, a batch an alarm run",
    statements: RETIRED_OCAS_SCHEMA,
  },
  {
    version: 30,
    name: "an OCA's recovery goes only as far as the worst verdict of its spell of better ones (the spell's worst kept)",
    statements: RECOVERY_SPELL_SCHEMA,
  },
];

/** The schema version the code expects. */
export const SITE_SCHEMA_VERSION = SITE_MIGRATIONS[SITE_MIGRATIONS.length - 1].version;

/** Applies every migration newer than the site's recorded version, each in its own transaction. Returns the version. */
export function migrate(storage: DurableObjectStorage, migrations: Migration[] = SITE_MIGRATIONS): number {
  const sql = storage.sql;
  run(sql, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const current = first<{ v: number | null }>(sql, `SELECT MAX(version) AS v FROM schema_migrations`)?.v ?? 0;
  for (const m of migrations) {
    if (m.version <= current) continue;
    storage.transactionSync(() => {
      for (const stmt of m.statements) run(sql, stmt);
      run(sql, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, m.version, m.name, Date.now());
    });
  }
  return first<{ v: number }>(sql, `SELECT MAX(version) AS v FROM schema_migrations`)!.v;
}

/** The migrations a site has applied, oldest first (for operators and tests). */
export function appliedMigrations(sql: SqlStorage): Array<{ version: number; name: string; appliedAt: number }> {
  return rows<{ version: number; name: string; applied_at: number }>(sql, `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`).map(
    (r) => ({
      version: r.version,
      name: r.name,
      appliedAt: r.applied_at,
    }),
  );
}
