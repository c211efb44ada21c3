/** Admin: manual fills (real, verified byte copies into OCAs). */
import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { ApiError } from "../../shared/errors";
import { isSafeId, SAFE_ID_RULE } from "../../../shared/ids";
import { findOca } from "../../shared/topology";
import { validationHook } from "../validation";
import { siteStub } from "../../shared/site-link";
import { catalogueDb } from "../../shared/catalogue-db";
import { requireSite, type AdminEnv } from "./params";

export const fillRoutes = new Hono<AdminEnv>();

export const fillBody = z.object({
  placements: z
    .array(
      z.object({
        siteId: z.string().min(1).max(64),
        ocaId: z.string().min(1).max(64),
        titleIds: z.array(z.string().refine(isSafeId, SAFE_ID_RULE)).min(1).max(100),
      }),
    )
    .min(1)
    .max(200),
});

/** Copies titles into OCAs now (a real byte copy, checksum verified). 409 when any copy could not be made. */
fillRoutes.post("/fill", zValidator("json", fillBody, validationHook), async (c) => {
  const { placements } = c.req.valid("json");
  for (const p of placements) {
    requireSite(p.siteId);
    if (!findOca(p.siteId, p.ocaId)) throw new ApiError(404, "unknown_oca", `site ${p.siteId} has no OCA ${p.ocaId}`);
  }
  const wanted = [...new Set(placements.flatMap((p) => p.titleIds))];
  const known = await catalogueDb.knownTitles(c.env.DB, wanted);
  const missing = wanted.filter((t) => !known.has(t));
  if (missing.length) throw new ApiError(404, "unknown_title", `no title ${missing.join(", ")}`);

  // One site at a time keeps peer copies possible (an earlier OCA of the site becomes a source).
  const results = [];
  for (const p of placements) {
    const stub = siteStub(c.env, p.siteId);
    for (const titleId of p.titleIds) results.push({ siteId: p.siteId, ...(await stub.fillTitle(p.ocaId, titleId)) });
  }
  const ok = results.every((r) => r.ok);
  return c.json({ ok, results }, ok ? 200 : 409);
});
