import type { Hook } from "@hono/zod-validator";
import { z } from "zod";
import { ApiError } from "../shared/errors";

/** zod-validator hook: invalid input becomes a 400 in the one error shape, listing every issue. */
// biome-ignore lint/suspicious/noExplicitAny: one hook serves every route, whatever its schema and env
export const validationHook: Hook<any, any, any> = (result) => {
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    throw new ApiError(400, "invalid_request", issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; "), { issues });
  }
};

/**
 * A whole-number query parameter from `min` to `max`, `def` when absent. Decimal digits only: coercion
 * read `?titles=` as 0, `0x10` as 16 and `1e1` as 10, answers the operator did not ask for.
 */
export const queryInt = (min: number, max: number, def: number) =>
  z
    .string()
    .regex(/^\d{1,16}$/, "must be a whole number in decimal digits")
    .default(String(def))
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
