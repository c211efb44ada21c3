import { Hono } from "hono";
import { control } from "./control/app";
import { edge } from "./edge/app";
import { runScheduledFill } from "./control/fill-cycle";
import { ApiError, errorResponse } from "./shared/errors";

export { OcaSite } from "../durable-objects/oca-site";
export { MemberStreams } from "../durable-objects/member-streams";
export { SessionLog } from "../durable-objects/session-log";

/** One Worker, two planes separated by route prefix: the data plane under /oca, the control plane elsewhere. */
const app = new Hono<{ Bindings: Env }>();
app.route("/", edge);
app.route("/", control);
app.notFound((c) => errorResponse(new ApiError(404, "not_found", `no route ${c.req.method} ${new URL(c.req.url).pathname}`)));
app.onError((err) => errorResponse(err));

export default {
  fetch: app.fetch,
  /** Hourly: sites whose local fill window is open plan tomorrow and start filling. */
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(
      runScheduledFill(env, controller.scheduledTime).then((reports) =>
        console.log(JSON.stringify({ cron: controller.cron, ran: reports.filter((r) => r.ran).map((r) => r.siteId) })),
      ),
    );
  },
} satisfies ExportedHandler<Env>;
