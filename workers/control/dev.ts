import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { ApiError } from "../shared/errors";
import { PLAN_IDS, signMemberToken } from "./member-auth";
import { validationHook } from "./validation";

/** Dev-only routes: they answer 404 unless DEV_MODE is "true" (never in the deployed default). */
export const dev = new Hono<{ Bindings: Env }>();

dev.use("*", async (c, next) => {
  if (c.env.DEV_MODE !== "true") throw new ApiError(404, "not_found", `no route ${c.req.method} ${new URL(c.req.url).pathname}`);
  await next();
});

const tokenBody = z.object({
  memberId: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, "memberId must be 1-64 characters of [A-Za-z0-9_.@-]"),
  plan: z.enum(PLAN_IDS),
});

dev.post("/token", zValidator("json", tokenBody, validationHook), async (c) => {
  const { memberId, plan } = c.req.valid("json");
  const { token, exp } = await signMemberToken(c.env, { id: memberId, plan });
  return c.json({ token, memberId, plan, expiresAt: new Date(exp * 1000).toISOString() });
});
