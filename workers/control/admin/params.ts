import { ApiError } from "../../shared/errors";
import { findSite } from "../../shared/topology";

export type AdminEnv = { Bindings: Env };

/** The site named by a path parameter, or 404 `unknown_site`. */
export function requireSite(siteId: string) {
  const site = findSite(siteId);
  if (!site) throw new ApiError(404, "unknown_site", `no site ${siteId}`);
  return site;
}
