/** Admin: a session's play and QoE events. */
import { Hono } from "hono";

import type { AdminEnv } from "./params";

export const sessionsRoutes = new Hono<AdminEnv>();

/** A session's play and QoE events, oldest first. */
sessionsRoutes.get("/sessions/:sessionId/events", async (c) => {
  const sessionId = c.req.param("sessionId");
  const { results } = await c.env.DB.prepare(`SELECT type, at, data FROM play_events WHERE session_id = ? ORDER BY id`)
    .bind(sessionId)
    .all<{ type: string; at: number; data: string }>();
  return c.json({ sessionId, events: results.map((r) => ({ ...(JSON.parse(r.data) as object), type: r.type, at: r.at })) });
});
