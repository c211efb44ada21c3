import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../workers/index";
import { LOOKUP_SITES_MAX } from "../workers/control/admin/sessions";
import { topology } from "../workers/shared/topology";
import { ADMIN, addSite, call, fill, GEO, memberToken, postEvents, pressPlay, publishTitle, siteBody, type PlayResponse } from "./fixtures";

/**
 * `GET /admin/sessions/{id}/events` without `?site=`: sessions are stored at their home site only, so
 * the lookup asks sites; each is two object calls and a request's subrequests are bounded. It asks them
 * a wave at a time until one knows the session, and refuses to ask a national topology's every site.
 */

const TITLE = "lookup-bounds-title";
let play: PlayResponse;

/** The admin lookup through the Worker with the site objects' namespace wrapped to count the objects asked (the one thing changed). */
async function lookup(
  query = "",
): Promise<{ status: number; body: { homeSiteId: string | null; events: unknown[]; error?: { code: string } }; sitesAsked: number }> {
  let sitesAsked = 0;
  const sites = new Proxy(env.OCA_SITE, {
    get(target, prop) {
      if (prop === "get") return (id: DurableObjectId) => (sitesAsked++, target.get(id));
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://cdn.test/admin/sessions/${play.sessionId}/events${query}`, { headers: ADMIN }),
    { ...env, OCA_SITE: sites },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: (await res.json()) as never, sitesAsked };
}

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
  const member = await memberToken("premium");
  play = (await (await pressPlay(member, { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
  expect((await postEvents(member, play, [{ type: "start", at: Date.now(), ocaId: "lumen-nyc-1" }])).status).toBe(202);
});

describe("a session's events looked up without its home site", () => {
  it("stops asking sites once a wave finds the session", async () => {
    // 30 sites: the session's home (lumen-nyc) is in the first wave of ten.
    for (let i = topology.sites.length; i < 30; i++) expect((await addSite(siteBody(`lookup-extra-${i}`))).status).toBe(201);
    expect(topology.sites.findIndex((s) => s.id === "lumen-nyc")).toBeLessThan(10);
    const { status, body, sitesAsked } = await lookup();
    expect(status).toBe(200);
    expect(body.homeSiteId).toBe("lumen-nyc");
    expect(body.events.length).toBeGreaterThan(0);
    expect(sitesAsked).toBeLessThanOrEqual(10);
  });

  it("refuses to ask every site of a topology past its bound, and finds the session at the site named", async () => {
    for (let i = topology.sites.length; i <= LOOKUP_SITES_MAX; i++) expect((await addSite(siteBody(`lookup-extra-${i}`))).status).toBe(201);
    const refused = await lookup();
    expect(refused.status).toBe(400);
    expect(refused.body.error?.code).toBe("site_required");
    expect(refused.sitesAsked).toBe(0);
    const named = await lookup("?site=lumen-nyc");
    expect(named.status).toBe(200);
    expect(named.body.homeSiteId).toBe("lumen-nyc");
    expect(named.sitesAsked).toBe(1);
    // The same through the Worker as operators call it.
    expect((await call(`/admin/sessions/${play.sessionId}/events?site=lumen-nyc`, { headers: ADMIN })).status).toBe(200);
  });

  it("answers 503 naming the sites that did not answer, rather than an unknown session, when its home may be one of them", async () => {
    // The home site's object and event shard both failing (the one thing changed: their stubs reject).
    const down = <T extends object>(ns: T, method: string) =>
      new Proxy(ns, {
        get(target, prop) {
          const v = Reflect.get(target, prop) as unknown;
          if (prop === "get")
            return (id: DurableObjectId) => ({
              [method]: () => Promise.reject(new Error("object unreachable")),
              id: (v as (i: DurableObjectId) => unknown).call(target, id),
            });
          return typeof v === "function" ? v.bind(target) : v;
        },
      });
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`http://cdn.test/admin/sessions/${play.sessionId}/events?site=lumen-nyc`, { headers: ADMIN }),
      { ...env, OCA_SITE: down(env.OCA_SITE, "cmcdSession"), SESSION_LOG: down(env.SESSION_LOG, "sessionEvents") },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).toBe("5");
    expect(((await res.json()) as { error: { code: string; details: { sites: string[] } } }).error).toMatchObject({
      code: "site_unreachable",
      details: { sites: ["lumen-nyc"] },
    });
    // Answering again, the same session is found where it lives.
    expect((await lookup("?site=lumen-nyc")).body.homeSiteId).toBe("lumen-nyc");
  });
});
