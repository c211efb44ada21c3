import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { dayNumber } from "../../fill/day";
import { ApiError } from "../shared/errors";
import { findSite } from "../shared/topology";
import { requireMember, type MemberVars } from "./member-auth";
import { validationHook } from "./validation";

export const EVENT_TYPES = ["start", "progress", "bitrate_switch", "rebuffer", "oca_switch", "error", "stop"] as const;

const event = z.object({
  type: z.enum(EVENT_TYPES),
  /** Client time (ms since epoch); defaults to arrival. */
  at: z.number().int().positive().optional(),
  /** Media bytes received since the previous report: feeds the viewing history. */
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
  events: z.array(event).min(1).max(200),
});

/** POST /v1/events: play and QoE events of a session; bytes count in the home site's viewing history. */
export const events = new Hono<MemberVars>();

events.post("/", requireMember, zValidator("json", body, validationHook), async (c) => {
  const { sessionId, events: list } = c.req.valid("json");
  const session = await c.env.DB.prepare(`SELECT member_id, title_id, home_site_id FROM sessions WHERE id = ?`)
    .bind(sessionId)
    .first<{ member_id: string; title_id: string; home_site_id: string | null }>();
  if (!session) throw new ApiError(404, "unknown_session", `no session ${sessionId}`);
  if (session.member_id !== c.get("member").id) throw new ApiError(403, "forbidden", "this session belongs to another member");
  const now = Date.now();
  await c.env.DB.batch(
    list.map((e) =>
      c.env.DB.prepare(`INSERT INTO play_events (session_id, title_id, home_site_id, type, at, data) VALUES (?, ?, ?, ?, ?, ?)`).bind(
        sessionId,
        session.title_id,
        session.home_site_id,
        e.type,
        e.at ?? now,
        JSON.stringify(e),
      ),
    ),
  );
  const bytes = list.reduce((s, e) => s + (e.bytes ?? 0), 0);
  const home = session.home_site_id ? findSite(session.home_site_id) : undefined;
  if (bytes > 0 && home) {
    c.executionCtx.waitUntil(
      c.env.OCA_SITE.get(c.env.OCA_SITE.idFromName(home.id))
        .recordViews(dayNumber(now, home.timeZone), session.title_id, { bytes })
        .catch((err) => console.error("recordViews", err)),
    );
  }
  return c.json({ accepted: list.length, bytes }, 202);
});
