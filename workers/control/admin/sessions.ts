/** Admin: a session's play and QoE events, and what its player said in CMCD. */
import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { idSchema } from "../../../shared/ids";
import { ApiError } from "../../shared/errors";
import type { QoeEvent } from "../../../shared/events";
import { sessionLog } from "../session-log";
import { siteStub } from "../../shared/site-link";
import { topology } from "../../shared/topology";
import { validationHook } from "../validation";
import { type AdminEnv, params, requireSite, sessionParam } from "./params";

export const sessionsRoutes = new Hono<AdminEnv>();

/** `site`: the session's home site, when known (an unknown one is a 404, not a session with no events). */
export const sessionEventsQuery = z.strictObject({ site: idSchema("site").optional() });

/**
 * Sites a lookup without `?site=` may ask, and how many at a time: each site asked is two object calls,
 * each a subrequest (10,000 a request on Workers Paid, 50 on Free): a national topology's every site,
 * 2,000 calls at 1,000 sites, is too many for one session's lookup, so there the home site is named.
 */
export const LOOKUP_SITES_MAX = 50;
const LOOKUP_WAVE = 10;

/**
 * A session's play and QoE events, oldest first, and its CMCD summary (requests, bytes, stalls, last
 * bitrate, buffer and throughput its player sent on media requests: a stock player's only QoE). Both
 * live at the session's home site; without `?site=` the sites are asked ten at a time until one knows
 * the session (sessions are not stored centrally), and only in a topology of at most LOOKUP_SITES_MAX
 * sites: past it, 400 `site_required`. No site holding the session is 404 `unknown_session`, unless a
 * site asked did not answer (it may be the session's home): then 503 `site_unreachable` naming them.
 */
sessionsRoutes.get("/sessions/:sessionId/events", params(sessionParam), zValidator("query", sessionEventsQuery, validationHook), async (c) => {
  const { sessionId } = c.req.valid("param");
  const only = c.req.valid("query").site;
  if (only === undefined && topology.sites.length > LOOKUP_SITES_MAX) {
    throw new ApiError(
      400,
      "site_required",
      `the topology has ${topology.sites.length} sites: name the session's home site with ?site= (the site steering ranks first for its client; its session token names it)`,
    );
  }
  const sites = only === undefined ? topology.sites : [requireSite(only)];
  // Sites that did not answer: the session may be theirs, so its absence elsewhere proves nothing.
  const unanswered: string[] = [];
  for (let i = 0; i < sites.length; i += LOOKUP_WAVE) {
    const wave = sites.slice(i, i + LOOKUP_WAVE);
    const found = await Promise.all(
      wave.map(async (s) => {
        const [events, cmcd] = await Promise.all([
          sessionLog(c.env, s.id, sessionId)
            .sessionEvents(sessionId)
            .catch(() => null),
          siteStub(c.env, s.id)
            .cmcdSession(sessionId)
            .catch(() => undefined),
        ]);
        if (events === null || cmcd === undefined) unanswered.push(s.id);
        return { siteId: s.id, events: (events ?? []) as QoeEvent[], cmcd: cmcd ?? null };
      }),
    );
    const home = found.find((f) => f.events.length > 0) ?? found.find((f) => f.cmcd !== null);
    if (home) return c.json({ sessionId, homeSiteId: home.siteId, events: home.events, cmcd: home.cmcd });
  }
  if (unanswered.length > 0) {
    throw new ApiError(
      503,
      "site_unreachable",
      `no site that answered holds this session; ${unanswered.length} did not answer: ask again`,
      { sites: unanswered },
      { "Retry-After": "5" },
    );
  }
  throw new ApiError(
    404,
    "unknown_session",
    only === undefined
      ? "no site holds events or CMCD of this session (a session whose player has sent neither has none yet)"
      : `site ${only} holds no events or CMCD of this session (a session whose player has sent neither has none yet; is it the session's home site?)`,
  );
});
