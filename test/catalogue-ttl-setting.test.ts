import { describe, expect, it } from "vitest";
import { MAX_CATALOGUE_TTL_S, viewLagMs, viewTtlMs } from "../workers/shared/view-ttl";

/** CATALOGUE_TTL_S as an operator may set it: the default when empty or not a number, bounded above. */
describe("the catalogue TTL setting", () => {
  it("is 5 s when unset, empty, blank or not a number", () => {
    for (const v of [undefined, "", "  ", "five", "-1", "NaN"]) expect(viewTtlMs({ CATALOGUE_TTL_S: v }), String(v)).toBe(5000);
  });

  it("takes 0 (every request asks D1) and whole or fractional seconds as given", () => {
    expect(viewTtlMs({ CATALOGUE_TTL_S: "0" })).toBe(0);
    expect(viewTtlMs({ CATALOGUE_TTL_S: "30" })).toBe(30_000);
    expect(viewTtlMs({ CATALOGUE_TTL_S: "2.5" })).toBe(2_500);
  });

  it("is at most MAX_CATALOGUE_TTL_S, so a takedown leaves steering within minutes", () => {
    expect(viewTtlMs({ CATALOGUE_TTL_S: "86400" })).toBe(MAX_CATALOGUE_TTL_S * 1000);
    expect(viewLagMs({ CATALOGUE_TTL_S: "1e9" })).toBe(2 * MAX_CATALOGUE_TTL_S * 1000 + 2_000);
  });
});
