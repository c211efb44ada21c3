import type { Hook } from "@hono/zod-validator";
import { ApiError } from "../shared/errors";

/** zod-validator hook: invalid input becomes a 400 in the one error shape, listing every issue. */
// biome-ignore lint/suspicious/noExplicitAny: one hook serves every route, whatever its schema and env
export const validationHook: Hook<any, any, any> = (result) => {
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    throw new ApiError(400, "invalid_request", issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; "), { issues });
  }
};
