import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { catalogueCache } from "./catalogue-cache";
import { BROWSES_PER_MEMBER_PER_MINUTE, enforceIsolateLimit } from "./limits";
import { clientGeo } from "../shared/client-geo";
import { ApiError } from "../shared/errors";
import { requireMember, type MemberVars } from "./member-auth";
import { browsePage, browseQuery, decodeBrowseCursor } from "./browse-page";
import { validationHook } from "./validation";
import { posterParam, posterResponse, posterUrl } from "./title-posters";

/**
 * GET /v1/titles: what the member can play now in their country, a page at a time (`limit`, default 50,
 * at most 200; `cursor` from the page before), from the isolate's browse list per country (a publish or
 * takedown shows within 2 × CATALOGUE_TTL_S; 503 `catalogue_unavailable` when D1 cannot be read and
 * nothing is cached). An entry has `posterUrl` when its current version has a poster.
 */
export const titles = new Hono<MemberVars>();

/** A browse page answers one member's request (behind its token, rate limited per member): no shared cache keeps it. */
const PRIVATE = { "Cache-Control": "private, no-store" };

titles.get("/", requireMember, zValidator("query", browseQuery, validationHook), async (c) => {
  enforceIsolateLimit("BROWSE_PER_MEMBER", c.get("member").id, BROWSES_PER_MEMBER_PER_MINUTE);
  const { limit, cursor } = c.req.valid("query");
  const after = cursor === undefined ? undefined : decodeBrowseCursor(cursor);
  if (after === null) throw new ApiError(400, "invalid_cursor", "cursor is not one this API gave: pass the `cursor` of the page before, unchanged");
  const geo = clientGeo(c.req.raw, c.env);
  if (!geo.country) return c.json({ country: null, total: 0, titles: [] }, 200, PRIVATE);
  const list = await catalogueCache.browse(c.env, geo.country, (p) => c.executionCtx.waitUntil(p));
  const page = browsePage(list, after, limit);
  const origin = new URL(c.req.url).origin;
  return c.json(
    {
      country: geo.country,
      total: list.length,
      titles: page.items.map((t) => ({
        id: t.id,
        name: t.name,
        description: t.description,
        releaseYear: t.release_year,
        durationS: t.duration_s,
        maxHeight: t.max_height,
        audioLanguages: JSON.parse(t.audio) as Array<{ language: string; label: string | null }>,
        subtitleLanguages: JSON.parse(t.subtitles) as Array<{ language: string; label: string | null }>,
        availableFrom: new Date(t.available_from).toISOString(),
        ...(t.poster ? { posterUrl: posterUrl(origin, t.id, t.version) } : {}),
      })),
      ...(page.next ? { cursor: page.next } : {}),
    },
    200,
    PRIVATE,
  );
});

/**
 * GET /v1/titles/{titleId}/poster/{version}: the poster a browse entry's `posterUrl` names. No member
 * token: apps show posters before sign-in (see title-posters.ts).
 */
titles.get("/:titleId/poster/:version", zValidator("param", posterParam, validationHook), async (c) => {
  const { titleId, version } = c.req.valid("param");
  return posterResponse(c.env, c.req.raw, { titleId, version: Number(version) }, (p) => c.executionCtx.waitUntil(p));
});
