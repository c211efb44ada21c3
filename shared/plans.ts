/** Plan ids a member token may carry; the D1 `plans` table holds each plan's caps under the same ids. */
export const PLAN_IDS = ["basic", "standard", "premium"] as const;
export type PlanId = (typeof PLAN_IDS)[number];
