import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { eventsRequestSchema } from "../../shared/events";
import { dayNumber } from "../../fill/day";
import { ApiError } from "../shared/errors";
import { findSite } from "../shared/topology";
import { siteStub } from "../shared/site-link";
import { requireMember, type MemberVars } from "./member-auth";
import { validationHook } from "./validation";
import { BODY_LIMITS, limitBody, limitByIp, limitByMember } from "./limits";

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

events.post(
  "/",
  limitByIp("EVENTS_PER_IP"),
  limitBody(BODY_LIMITS.events),
  requireMember,
  limitByMember("EVENTS_PER_MEMBER"),
  zValidator("json", eventsRequestSchema, validationHook),
  async (c) => {
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
        db
          .prepare(`INSERT INTO event_batches (session_id, batch_id, events, bytes, accepted_at) VALUES (?, ?, ?, ?, ?)`)
          .bind(sessionId, batchId, list.length, bytes, now),
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
        siteStub(c.env, home.id)
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
  },
);
