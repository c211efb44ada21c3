import { Hono } from "hono";
import { catalogueDb } from "../shared/catalogue-db";
import { clientGeo } from "../shared/client-geo";
import { requireMember, type MemberVars } from "./member-auth";

/** GET /v1/titles: what the member can play now in their country. */
export const titles = new Hono<MemberVars>();

titles.get("/", requireMember, async (c) => {
  const geo = clientGeo(c.req.raw, c.env);
  const now = Date.now();
  if (!geo.country) return c.json({ country: null, titles: [] });
  const results = await catalogueDb.browse(c.env.DB, geo.country, now);
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
