import { Hono } from "hono";
import { control } from "./control/app";
import { edge } from "./edge/app";
import { ApiError, errorResponse } from "./shared/errors";

/** One Worker, two planes separated by route prefix: the data plane under /oca, the control plane elsewhere. */
export const app = new Hono<{ Bindings: Env }>();
app.route("/", edge);
app.route("/", control);
app.notFound((c) => errorResponse(new ApiError(404, "not_found", `no route ${c.req.method} ${new URL(c.req.url).pathname}`)));
app.onError((err) => errorResponse(err));
