import { app } from "./app";
import { runScheduledFill } from "./control/fill-cycle";
import { publishWithdrawn } from "./control/withdrawn";

export { OcaSite } from "../durable-objects/oca-site";
export { MemberStreams } from "../durable-objects/member-streams";
export { SessionLog } from "../durable-objects/session-log";

export default {
  fetch: app.fetch,
  /**
   * Hourly: sites whose local fill window is open plan tomorrow and start filling; origin's list of
   * titles withdrawn (taken down, licence ended or ending within two hours) is written afresh.
   */
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(publishWithdrawn(env).catch((err) => console.error("withdrawn list", err)));
    ctx.waitUntil(
      runScheduledFill(env, controller.scheduledTime).then((reports) =>
        console.log(JSON.stringify({ cron: controller.cron, ran: reports.filter((r) => r.ran).map((r) => r.siteId) })),
      ),
    );
  },
} satisfies ExportedHandler<Env>;
