import { zValidator } from "@hono/zod-validator";
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { idSchema, memberIdSchema } from "../../../shared/ids";
import { ApiError } from "../../shared/errors";
import { validationHook } from "../validation";
import { findSite } from "../../shared/topology";

export type AdminEnv = { Bindings: Env };

/** The site named by a path parameter, or 404 `unknown_site`. */
export function requireSite(siteId: string) {
  const site = findSite(siteId);
  if (!site) throw new ApiError(404, "unknown_site", `no site ${siteId}`);
  return site;
}

/** Path parameters of the admin API, validated by zod before any handler runs (400 `invalid_request`). */
export const siteParam = z.object({ siteId: idSchema("siteId") });
export const siteOcaParam = siteParam.extend({ ocaId: idSchema("ocaId") });
export const siteOcaTitleParam = siteOcaParam.extend({ titleId: idSchema("titleId") });
export const titleParam = z.object({ titleId: idSchema("titleId") });
export const ispParam = z.object({ ispId: idSchema("ispId") });
/** Session ids are minted lower-case (`crypto.randomUUID`); one pasted in upper case names the same session. */
export const sessionParam = z.object({ sessionId: z.uuid().transform((id) => id.toLowerCase()) });
export const memberParam = z.object({ memberId: memberIdSchema });
export const memberStreamParam = memberParam.extend(sessionParam.shape);

/** Validates a route's path parameters with one of the schemas above. */
export const params = <T extends z.ZodType>(schema: T) => zValidator("param", schema, validationHook);

/**
 * For a route that takes no query parameters: any is a 400 naming it, as the paged reads refuse one they
 * do not know. Ignored, `DELETE /admin/titles/x?dryRun=1` took the title down.
 */
export const noQuery: MiddlewareHandler<AdminEnv> = zValidator("query", z.strictObject({}), validationHook);
