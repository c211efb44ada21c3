import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { eventsRequestSchema } from "../../shared/events";
import { sessionsDb } from "./sessions-db";
import { dayNumber } from "../../fill/day";
import { ApiError } from "../shared/errors";
import { findSite } from "../shared/topology";
import { siteStub } from "../shared/site-link";
import { requireMember, type MemberVars } from "./member-auth";
import { validationHook } from "./validation";
import { BODY_LIMITS, limitBody, limitByIp, limitByMember } from "./limits";

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
    const session = await sessionsDb.forReports(c.env.DB, sessionId);
    if (!session) throw new ApiError(404, "unknown_session", `no session ${sessionId}`);
    if (session.member_id !== c.get("member").id) throw new ApiError(403, "forbidden", "this session belongs to another member");
    const now = Date.now();
    const bytes = list.reduce((s, e) => s + (e.bytes ?? 0), 0);
    const stored = await sessionsDb.storeBatch(c.env.DB, { sessionId, titleId: session.title_id, homeSiteId: session.home_site_id }, batchId, list, bytes, now);
    if (!stored) return c.json({ accepted: 0, bytes: 0, duplicate: true }, 200);
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
