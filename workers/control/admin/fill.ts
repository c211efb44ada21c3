/** Admin: manual fills (real, verified byte copies into OCAs). */
import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { ApiError } from "../../shared/errors";
import { idSchema, isSafeId, SAFE_ID_RULE } from "../../../shared/ids";
import { findOca } from "../../shared/topology";
import { validationHook } from "../validation";
import { catalogueDb } from "../../shared/catalogue-db";
import { requireSite, type AdminEnv } from "./params";
import { fillPlacements } from "./fill-placements";

export const fillRoutes = new Hono<AdminEnv>();

/** Unknown title ids a refused fill lists in its details (the rest are counted). */
export const MISSING_LISTED = 100;

export const fillBody = z.strictObject({
  placements: z
    .array(
      z.strictObject({
        siteId: idSchema("siteId"),
        ocaId: idSchema("ocaId"),
        titleIds: z.array(z.string().refine(isSafeId, SAFE_ID_RULE)).min(1).max(100),
      }),
    )
    .min(1)
    .max(200),
});

/**
 * Copies titles into OCAs now (a real byte copy, checksum verified), each title in as many calls of its
 * site's object as its files need. 200 when every title is complete on its OCA, 409 when any copy
 * could not be made, 202 when the request's budget ran out first (send it again to carry on).
 */
fillRoutes.post("/fill", zValidator("json", fillBody, validationHook), async (c) => {
  const { placements } = c.req.valid("json");
  const pairs = placements.flatMap((p) => p.titleIds.map((titleId) => ({ siteId: p.siteId, ocaId: p.ocaId, titleId })));
  // Each (site, OCA, title) once: listed again, it cost another round of site object calls and a second
  // result row, and 20,000 copies of one pair spent the whole request's budget on nothing.
  const seen = new Set<string>();
  for (const p of pairs) {
    const key = `${p.siteId}/${p.ocaId}/${p.titleId}`;
    if (seen.has(key)) throw new ApiError(400, "duplicate_placement", `title ${p.titleId} on ${p.siteId}/${p.ocaId} is listed twice`);
    seen.add(key);
  }
  for (const p of placements) {
    requireSite(p.siteId);
    if (!findOca(p.siteId, p.ocaId)) throw new ApiError(404, "unknown_oca", `site ${p.siteId} has no OCA ${p.ocaId}`);
  }
  const wanted = [...new Set(placements.flatMap((p) => p.titleIds))];
  const known = await catalogueDb.knownTitles(c.env.DB, wanted);
  const missing = wanted.filter((t) => !known.has(t));
  if (missing.length) {
    // Up to 20,000 ids may be asked: the message names the first few, the details up to MISSING_LISTED.
    const named = missing.slice(0, 5).join(", ");
    throw new ApiError(404, "unknown_title", `no title ${named}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""}`, {
      missing: missing.length,
      titleIds: missing.slice(0, MISSING_LISTED),
    });
  }

  const { ok, status, results } = await fillPlacements(c.env, pairs);
  return c.json({ ok, results }, status);
});
