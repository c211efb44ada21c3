import { describe, expect, it } from "vitest";
import { ADMIN, call } from "./fixtures";

/**
 * A site's plan, predictions and viewing history are paged by cursors naming the last row given: an OCA
 * and a title, or a day and a title, every id by the one id rule. A cursor naming `__proto__` or
 * `constructor` was never given, so it is a 400, not a page that starts somewhere.
 */

type ErrorBody = { error: { code: string; details?: { issues?: Array<{ path: string }> } } };

describe("a page cursor of a site's lists", () => {
  it("naming a reserved name is refused with 400 on the cursor", async () => {
    for (const path of [
      "/admin/sites/lumen-nyc/plan?cursor=__proto__:constructor",
      "/admin/sites/lumen-nyc/plan?cursor=lumen-nyc-1:__proto__",
      "/admin/sites/lumen-nyc/predictions?cursor=20000:__proto__",
      "/admin/sites/lumen-nyc/views?cursor=20000:constructor",
    ]) {
      const res = await call(path, { headers: ADMIN });
      expect(res.status, path).toBe(400);
      const err = ((await res.json()) as ErrorBody).error;
      expect(err.code).toBe("invalid_request");
      expect(err.details?.issues?.map((i) => i.path)).toEqual(["cursor"]);
    }
  });

  it("of the form the API gives is taken", async () => {
    expect((await call("/admin/sites/lumen-nyc/plan?cursor=lumen-nyc-1:some-title", { headers: ADMIN })).status).toBe(200);
    expect((await call("/admin/sites/lumen-nyc/views?cursor=20000:some-title", { headers: ADMIN })).status).toBe(200);
    // A well-formed cursor of another day's predictions is the documented 409.
    expect((await call("/admin/sites/lumen-nyc/predictions?cursor=1:some-title", { headers: ADMIN })).status).toBe(409);
  });
});
