import { Hono } from "hono";
import { BODY_LIMITS, limitBody } from "../limits";
import { requireAdmin } from "./auth";
import { noBody, requireJsonBody } from "./json-body";
import { fillRoutes } from "./fill";
import { originRoutes } from "./origin";
import { type AdminEnv, noQuery } from "./params";
import { sessionsRoutes } from "./sessions";
import { membersRoutes } from "./members";
import { sitesRoutes } from "./sites";
import { titlesRoutes } from "./titles";
import { topologyRoutes } from "./topology";
import { opsRoutes } from "./ops";

/** Admin API (bearer ADMIN_TOKEN): topology, site state, manual fill, catalogue registration, origin upload. */
export const admin = new Hono<AdminEnv>();
admin.use("*", requireAdmin);
// Origin uploads stream media files; every other admin route takes JSON.
admin.use("/origin/*", limitBody(BODY_LIMITS.originUpload));
admin.use("*", async (c, next) => (c.req.path.startsWith("/admin/origin/") ? next() : limitBody(BODY_LIMITS.adminJson)(c, next)));
admin.use("*", async (c, next) => (c.req.path.startsWith("/admin/origin/") ? next() : requireJsonBody(c, next)));
// No change takes a query parameter (its settings are in the body): one sent (`?dryRun=1`) is refused, not
// ignored while the change is made. Reads with a query declare theirs; those without use noQuery too.
admin.use("*", async (c, next) => (c.req.method === "GET" || c.req.method === "HEAD" ? next() : noQuery(c, next)));
admin.get("/topology", noQuery);
// The retire (topology.ts) takes no body: a field sent with it (`{"dryRun":true}`) is refused, not ignored.
admin.post("/topology/sites/:siteId/ocas/:ocaId/retire", noBody);

admin.route("/", topologyRoutes);
admin.route("/", sitesRoutes);
admin.route("/", fillRoutes);
admin.route("/", originRoutes);
admin.route("/", titlesRoutes);
admin.route("/", sessionsRoutes);
admin.route("/", membersRoutes);
admin.route("/", opsRoutes);
