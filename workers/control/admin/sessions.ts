/** Admin: a session's play and QoE events. */
import { Hono } from "hono";

import { sessionsDb } from "../sessions-db";
import { type AdminEnv, params, sessionParam } from "./params";

export const sessionsRoutes = new Hono<AdminEnv>();

/** A session's play and QoE events, oldest first. */
sessionsRoutes.get("/sessions/:sessionId/events", params(sessionParam), async (c) => {
  const sessionId = c.req.param("sessionId");
  return c.json({ sessionId, events: await sessionsDb.events(c.env.DB, sessionId) });
});
