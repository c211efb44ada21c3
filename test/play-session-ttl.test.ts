import { describe, expect, it } from "vitest";
import { sessionTtlS } from "../workers/control/session-ttl";

describe("session lifetime", () => {
  it("is a whole number of seconds whatever SESSION_TTL_S says (a fractional one made every play a 500)", () => {
    for (const v of ["3600.5", "90.9", "Infinity", "-5", "1e400", "1e13", "abc", ""]) {
      const ttl = sessionTtlS({ SESSION_TTL_S: v });
      expect(Number.isSafeInteger(ttl), v).toBe(true);
      expect(ttl, v).toBeGreaterThanOrEqual(60);
      expect(Number.isFinite(new Date((Math.floor(Date.now() / 1000) + ttl) * 1000).getTime()), v).toBe(true);
    }
  });
});
