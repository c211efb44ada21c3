import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { OcaSite } from "../durable-objects/oca-site";
import { openPlan, patternBytes, publishTitle } from "./fixtures";

/**
 * A title re-published while a site copies it: its queued files were read from the catalogue when the
 * plan was queued, so the night's fill ends holding the old version unless the title is queued again.
 */

const SITE = "rheinnet-muc";
const OCA = "rheinnet-muc-2";
const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));

describe("a title re-published during its fill", () => {
  it("is held and listed at its new version by the same night's fill, the changed file copied too", async () => {
    const TITLE = "fill-republished";
    const v1 = await publishTitle(TITLE);
    await runInDurableObject(site(), async (o: OcaSite, state) => {
      await o.applyPlan(openPlan({ [OCA]: [TITLE] }));
      await state.storage.deleteAlarm();
    });
    const changed = "video/avc-720p/seg-00001.m4s";
    const v2 = await publishTitle(TITLE, { change: { [changed]: patternBytes(64 * 1024, 999) } });
    expect(v2.version).toBeGreaterThan(v1.version);
    await runInDurableObject(site(), (_o, state) => state.storage.setAlarm(Date.now()));
    for (let i = 0; i < 30 && (await runDurableObjectAlarm(site())); i++);
    const listed = await env.DB.prepare(`SELECT version FROM oca_titles WHERE site_id = ? AND oca_id = ? AND title_id = ?`).bind(SITE, OCA, TITLE).all();
    expect(listed.results).toContainEqual({ version: v2.version });
    const held = await runInDurableObject(site(), async (_o, state) =>
      state.storage.sql
        .exec<{ sha256: string }>(`SELECT sha256 FROM holdings WHERE oca_id = ? AND title_id = ? AND path = ? AND state = 'ready'`, OCA, TITLE, changed)
        .toArray()
        .map((r) => r.sha256),
    );
    expect(held).toContain(v2.sha[changed]);
  });
});
