/** Admin: a session's play and QoE events, and what its player said in CMCD. */
import { Hono } from "hono";
import type { QoeEvent } from "../../../shared/events";
import { sessionLog } from "../session-log";
import { siteStub } from "../../shared/site-link";
import { topology } from "../../shared/topology";
import { type AdminEnv, params, sessionParam } from "./params";

export const sessionsRoutes = new Hono<AdminEnv>();

/**
 * A session's play and QoE events, oldest first, and its CMCD summary (requests, bytes, stalls, last
 * bitrate, buffer and throughput its player sent on media requests: a stock player's only QoE). Both
 * live at the session's home site; without `?site=` each site is asked (sessions are not stored centrally).
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
  const cmcd = await Promise.all(
    sites.map((s) =>
      siteStub(c.env, s.id)
        .cmcdSession(sessionId)
        .catch(() => null),
    ),
  );
  const i = found.findIndex((e) => e.length > 0);
  const j = cmcd.findIndex((x) => x !== null);
  const home = i >= 0 ? i : j;
  return c.json({ sessionId, homeSiteId: home >= 0 ? sites[home].id : null, events: i >= 0 ? found[i] : [], cmcd: j >= 0 ? cmcd[j] : null });
});
