import { describe, expect, it } from "vitest";
import { ADMIN, call } from "./fixtures";

/**
 * Query parameters of the admin API are checked like bodies and paths: a value outside what the
 * reference documents is a 400 naming it, a site that does not exist a 404, never an answer computed
 * from a default the operator did not ask for (or from half a day).
 */

const SESSION = "3f0c6b3e-1111-4222-8333-444455556666";
const error = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

describe("the admin API's query parameters", () => {
  it("refuses a viewing-history window that is not a whole number of days from 1 to 90", async () => {
    for (const days of ["2.5", "abc", "0", "-1", "91", "1e9", ""]) {
      const res = await call(`/admin/sites/lumen-nyc/views?days=${days}`, { headers: ADMIN });
      expect(res.status, `days=${days}`).toBe(400);
      expect((await error(res)).code).toBe("invalid_request");
    }
    const ok = await call("/admin/sites/lumen-nyc/views?days=3", { headers: ADMIN });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { fromDay: number; toDay: number };
    expect(body.toDay - body.fromDay).toBe(2);
    const byDefault = (await (await call("/admin/sites/lumen-nyc/views", { headers: ADMIN })).json()) as { fromDay: number; toDay: number };
    expect(byDefault.toDay - byDefault.fromDay).toBe(13);
  });

  it("refuses a dashboard overview window that is not a whole number of days from 1 to 60", async () => {
    for (const days of ["abc", "0", "61", "7.5"]) {
      const res = await call(`/admin/ops/overview?days=${days}`, { headers: ADMIN });
      expect(res.status, `days=${days}`).toBe(400);
      expect((await error(res)).code).toBe("invalid_request");
    }
    const ok = await call("/admin/ops/overview?days=7", { headers: ADMIN });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { days: number }).days).toBe(7);
  });

  it("answers a session's events asked at a site that does not exist with 404, not an empty session", async () => {
    const unknown = await call(`/admin/sessions/${SESSION}/events?site=lumen-nowhere`, { headers: ADMIN });
    expect(unknown.status).toBe(404);
    expect((await error(unknown)).code).toBe("unknown_site");
    const bad = await call(`/admin/sessions/${SESSION}/events?site=__proto__`, { headers: ADMIN });
    expect(bad.status).toBe(400);
    expect((await error(bad)).code).toBe("invalid_request");
    // A site that answers but holds nothing of the session: 404, not a session with no events.
    const known = await call(`/admin/sessions/${SESSION}/events?site=lumen-nyc`, { headers: ADMIN });
    expect(known.status).toBe(404);
    expect((await error(known)).code).toBe("unknown_session");
  });
});
