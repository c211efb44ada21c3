import { Hono } from "hono";
import { control } from "./control/app";
import { edge } from "./edge/app";
import { ApiError, errorResponse } from "./shared/errors";
import { liveTopology } from "./shared/topology-live";

/** One Worker, two planes separated by route prefix: the data plane under /oca, the control plane elsewhere. */
export const app = new Hono<{ Bindings: Env }>();
// Both planes run on the live topology (sites and OCAs added or retired through the admin API).
app.use("*", async (c, next) => {
  await liveTopology(c.env, (p) => c.executionCtx.waitUntil(p));
  await next();
});
app.route("/", edge);
app.route("/", control);
// The path is echoed cut short: a message is for reading, and a URL can run to the platform's 16 KB.
app.notFound((c) => {
  const path = new URL(c.req.url).pathname;
  return errorResponse(new ApiError(404, "not_found", `no route ${c.req.method} ${path.length > 200 ? `${path.slice(0, 200)}…` : path}`));
});
app.onError((err) => errorResponse(err));
