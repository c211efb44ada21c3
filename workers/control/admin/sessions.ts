/** Admin: a session's play and QoE events, and what its player said in CMCD. */
import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { idSchema } from "../../../shared/ids";
import type { QoeEvent } from "../../../shared/events";
import { sessionLog } from "../session-log";
import { siteStub } from "../../shared/site-link";
import { topology } from "../../shared/topology";
import { validationHook } from "../validation";
import { type AdminEnv, params, requireSite, sessionParam } from "./params";

export const sessionsRoutes = new Hono<AdminEnv>();

/** `site`: the session's home site, when known (an unknown one is a 404, not a session with no events). */
export const sessionEventsQuery = z.object({ site: idSchema("site").optional() });

/**
 * A session's play and QoE events, oldest first, and its CMCD summary (requests, bytes, stalls, last
 * bitrate, buffer and throughput its player sent on media requests: a stock player's only QoE). Both
 * live at the session's home site; without `?site=` each site is asked (sessions are not stored centrally).
 */
sessionsRoutes.get("/sessions/:sessionId/events", params(sessionParam), zValidator("query", sessionEventsQuery, validationHook), async (c) => {
  const sessionId = c.req.param("sessionId");
  const only = c.req.valid("query").site;
  const sites = only === undefined ? topology.sites : [requireSite(only)];
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
