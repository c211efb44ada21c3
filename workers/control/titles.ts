import { Hono } from "hono";
import { catalogueCache } from "./catalogue-cache";
import { BROWSES_PER_MEMBER_PER_MINUTE, enforceIsolateLimit } from "./limits";
import { clientGeo } from "../shared/client-geo";
import { requireMember, type MemberVars } from "./member-auth";

/**
 * GET /v1/titles: what the member can play now in their country, from the isolate's browse list per
 * country (a publish or takedown shows within 2 × CATALOGUE_TTL_S; 503 `catalogue_unavailable` when D1
 * cannot be read and nothing is cached).
 */
export const titles = new Hono<MemberVars>();

titles.get("/", requireMember, async (c) => {
  enforceIsolateLimit("BROWSE_PER_MEMBER", c.get("member").id, BROWSES_PER_MEMBER_PER_MINUTE);
  const geo = clientGeo(c.req.raw, c.env);
  if (!geo.country) return c.json({ country: null, titles: [] });
  const results = await catalogueCache.browse(c.env, geo.country, (p) => c.executionCtx.waitUntil(p));
  return c.json({
    country: geo.country,
    titles: results.map((t) => ({
      id: t.id,
      name: t.name,
      description: t.description,
      releaseYear: t.release_year,
      durationS: t.duration_s,
      maxHeight: t.max_height,
      audioLanguages: JSON.parse(t.audio) as Array<{ language: string; label: string | null }>,
      subtitleLanguages: JSON.parse(t.subtitles) as Array<{ language: string; label: string | null }>,
      availableFrom: new Date(t.available_from).toISOString(),
    })),
  });
});
