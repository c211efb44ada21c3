import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { dayNumber } from "../../fill/day";
import { ApiError } from "../shared/errors";
import { findSite } from "../shared/topology";
import { requireMember, type MemberVars } from "./member-auth";
import { validationHook } from "./validation";
import { BODY_LIMITS, limitBody, limitByIp, limitByMember } from "./limits";

export const EVENT_TYPES = ["start", "progress", "bitrate_switch", "rebuffer", "oca_switch", "error", "stop"] as const;

const event = z.object({
  type: z.enum(EVENT_TYPES),
  /** Client time (ms since epoch); defaults to arrival. */
  at: z.number().int().positive().optional(),
  /** Media bytes received since the previous report: feeds the viewing history, within the session's caps. */
  bytes: z.number().int().min(0).max(1e12).optional(),
  startupMs: z.number().min(0).max(600_000).optional(),
  durationMs: z.number().min(0).max(86_400_000).optional(),
  bitrate: z.number().int().min(0).max(1e10).optional(),
  fromBitrate: z.number().int().min(0).max(1e10).optional(),
  ocaId: z.string().max(64).optional(),
  fromOcaId: z.string().max(64).optional(),
  reason: z.string().max(500).optional(),
  positionS: z.number().min(0).max(1e6).optional(),
});

const body = z.object({
  sessionId: z.uuid(),
  /** Idempotency key: a batch resent after a lost response carries the same id and counts once. */
  batchId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, "batchId must be 8-64 characters of [A-Za-z0-9_-]"),
  events: z.array(event).min(1).max(200),
});

interface SessionRow {
  member_id: string;
  title_id: string;
  home_site_id: string | null;
  created_at: number;
  top_bps: number;
  est_bytes: number;
}

const isDuplicate = (err: unknown) => /UNIQUE constraint failed: event_batches/i.test(String(err));

/**
 * POST /v1/events: play and QoE events of a session, stored once per batch id. Reported bytes count
 * in the home site's viewing history only within what the session could have watched.
 */
export const events = new Hono<MemberVars>();

events.post("/", limitByIp("EVENTS_PER_IP"), limitBody(BODY_LIMITS.events), requireMember, limitByMember("EVENTS_PER_MEMBER"), zValidator("json", body, validationHook), async (c) => {
  const { sessionId, batchId, events: list } = c.req.valid("json");
  const session = await c.env.DB.prepare(`SELECT member_id, title_id, home_site_id, created_at, top_bps, est_bytes FROM sessions WHERE id = ?`)
    .bind(sessionId)
    .first<SessionRow>();
  if (!session) throw new ApiError(404, "unknown_session", `no session ${sessionId}`);
  if (session.member_id !== c.get("member").id) throw new ApiError(403, "forbidden", "this session belongs to another member");
  const now = Date.now();
  const bytes = list.reduce((s, e) => s + (e.bytes ?? 0), 0);
  const db = c.env.DB;
  try {
    // One transaction: the batch id row and the events land together, or not at all.
    await db.batch([
      db.prepare(`INSERT INTO event_batches (session_id, batch_id, events, bytes, accepted_at) VALUES (?, ?, ?, ?, ?)`).bind(sessionId, batchId, list.length, bytes, now),
      ...list.map((e) =>
        db
          .prepare(`INSERT INTO play_events (session_id, title_id, home_site_id, type, at, data) VALUES (?, ?, ?, ?, ?, ?)`)
          .bind(sessionId, session.title_id, session.home_site_id, e.type, e.at ?? now, JSON.stringify(e)),
      ),
    ]);
  } catch (err) {
    if (isDuplicate(err)) return c.json({ accepted: 0, bytes: 0, duplicate: true }, 200);
    throw err;
  }
  const home = session.home_site_id ? findSite(session.home_site_id) : undefined;
  if (bytes > 0 && home) {
    c.executionCtx.waitUntil(
      c.env.OCA_SITE.get(c.env.OCA_SITE.idFromName(home.id))
        .recordReport({
          sessionId,
          titleId: session.title_id,
          day: dayNumber(session.created_at, home.timeZone),
          estBytes: session.est_bytes,
          topBps: session.top_bps,
          startedAt: session.created_at,
          reportDay: dayNumber(now, home.timeZone),
          bytes,
          now,
        })
        .catch((err) => console.error("recordReport", err)),
    );
  }
  return c.json({ accepted: list.length, bytes }, 202);
});
