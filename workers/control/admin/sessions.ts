/** Admin: a session's play and QoE events. */
import { Hono } from "hono";
import type { QoeEvent } from "../../../shared/events";
import { sessionLog } from "../session-log";
import { topology } from "../../shared/topology";
import { type AdminEnv, params, sessionParam } from "./params";

export const sessionsRoutes = new Hono<AdminEnv>();

/**
 * A session's play and QoE events, oldest first. They live in the session's event shard at its home
 * site; without `?site=` each site's shard for the session is asked (sessions are not stored centrally).
 */
sessionsRoutes.get("/sessions/:sessionId/events", params(sessionParam), async (c) => {
  const sessionId = c.req.param("sessionId");
  const only = c.req.query("site");
  const sites = topology.sites.filter((s) => !only || s.id === only);
  const found = await Promise.all(
    sites.map((s) =>
      sessionLog(c.env, s.id, sessionId)
        .sessionEvents(sessionId)
        .catch((): QoeEvent[] => []),
    ),
  );
  const i = found.findIndex((e) => e.length > 0);
  return c.json({ sessionId, homeSiteId: i >= 0 ? sites[i].id : null, events: i >= 0 ? found[i] : [] });
});
