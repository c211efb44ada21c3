import { Hono } from "hono";
import { clientGeo } from "./client-geo";
import { requireMember, type MemberVars } from "./member-auth";

/** GET /v1/titles: what the member can play now in their country. */
export const titles = new Hono<MemberVars>();

titles.get("/", requireMember, async (c) => {
  const geo = clientGeo(c.req.raw, c.env);
  const now = Date.now();
  if (!geo.country) return c.json({ country: null, titles: [] });
  const { results } = await c.env.DB.prepare(
    `SELECT t.id, t.name, t.description, t.release_year, t.duration_s, MAX(t.available_from, l.available_from) AS available_from,
            (SELECT json_group_array(json_object('language', language, 'label', label)) FROM renditions r WHERE r.title_id = t.id AND r.kind = 'audio') AS audio,
            (SELECT json_group_array(json_object('language', language, 'label', label)) FROM renditions r WHERE r.title_id = t.id AND r.kind = 'subtitle') AS subtitles,
            (SELECT MAX(height) FROM renditions r WHERE r.title_id = t.id AND r.kind = 'video') AS max_height
     FROM titles t JOIN licences l ON l.title_id = t.id AND l.country = ?1
     WHERE t.available_from <= ?2 AND l.available_from <= ?2 AND (l.available_until IS NULL OR l.available_until > ?2)
     ORDER BY t.name`,
  )
    .bind(geo.country, now)
    .all<{
      id: string;
      name: string;
      description: string;
      release_year: number | null;
      duration_s: number;
      available_from: number;
      audio: string;
      subtitles: string;
      max_height: number | null;
    }>();
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
