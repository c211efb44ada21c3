import type { QoeEvent } from "../../shared/events";

/**
 * D1's session tables (sessions, play_events, event_batches): every statement against them lives
 * here. Sessions are written by the play request and read by the events route and the steering server.
 */

/** A session as the play request records it. */
export interface NewSession {
  id: string;
  memberId: string;
  titleId: string;
  country: string | null;
  asn: number | null;
  lat: number | null;
  lon: number | null;
  maxHeight: number;
  homeSiteId: string;
  pathways: Array<{ siteId: string; ocaId: string }>;
  createdAt: number;
  expiresAt: number;
  topBps: number;
  estBytes: number;
}

/** What the events route needs of a session. */
export interface ReportingSession {
  member_id: string;
  title_id: string;
  home_site_id: string | null;
  created_at: number;
  top_bps: number;
  est_bytes: number;
}

/** What the steering server needs of a session. */
export interface SteeringSession {
  title_id: string;
  country: string | null;
  asn: number | null;
  lat: number | null;
  lon: number | null;
  max_height: number | null;
  pathways: string | null;
}

const isDuplicate = (err: unknown) => /UNIQUE constraint failed: event_batches/i.test(String(err));

export const sessionsDb = {
  async insert(db: D1Database, s: NewSession): Promise<void> {
    await db
      .prepare(
        `INSERT INTO sessions (id, member_id, title_id, country, asn, lat, lon, max_height, home_site_id, pathways, created_at, expires_at, top_bps, est_bytes)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .bind(
        s.id,
        s.memberId,
        s.titleId,
        s.country,
        s.asn,
        s.lat,
        s.lon,
        s.maxHeight,
        s.homeSiteId,
        JSON.stringify(s.pathways),
        s.createdAt,
        s.expiresAt,
        s.topBps,
        s.estBytes,
      )
      .run();
  },

  forReports(db: D1Database, sessionId: string): Promise<ReportingSession | null> {
    return db
      .prepare(`SELECT member_id, title_id, home_site_id, created_at, top_bps, est_bytes FROM sessions WHERE id = ?`)
      .bind(sessionId)
      .first<ReportingSession>();
  },

  forSteering(db: D1Database, sessionId: string): Promise<SteeringSession | null> {
    return db.prepare(`SELECT title_id, country, asn, lat, lon, max_height, pathways FROM sessions WHERE id = ?`).bind(sessionId).first<SteeringSession>();
  },

  /**
   * Stores a batch of events under its idempotency key, in one transaction: the key and the events
   * land together or not at all. Returns false when the batch was already stored (a retry).
   */
  async storeBatch(
    db: D1Database,
    s: { sessionId: string; titleId: string; homeSiteId: string | null },
    batchId: string,
    events: QoeEvent[],
    bytes: number,
    now: number,
  ): Promise<boolean> {
    try {
      await db.batch([
        db
          .prepare(`INSERT INTO event_batches (session_id, batch_id, events, bytes, accepted_at) VALUES (?, ?, ?, ?, ?)`)
          .bind(s.sessionId, batchId, events.length, bytes, now),
        ...events.map((e) =>
          db
            .prepare(`INSERT INTO play_events (session_id, title_id, home_site_id, type, at, data) VALUES (?, ?, ?, ?, ?, ?)`)
            .bind(s.sessionId, s.titleId, s.homeSiteId, e.type, e.at ?? now, JSON.stringify(e)),
        ),
      ]);
      return true;
    } catch (err) {
      if (isDuplicate(err)) return false;
      throw err;
    }
  },

  /** A session's events, oldest first. */
  async events(db: D1Database, sessionId: string): Promise<Array<Record<string, unknown>>> {
    const { results } = await db
      .prepare(`SELECT type, at, data FROM play_events WHERE session_id = ? ORDER BY id`)
      .bind(sessionId)
      .all<{ type: string; at: number; data: string }>();
    return results.map((r) => ({ ...(JSON.parse(r.data) as object), type: r.type, at: r.at }));
  },
};
