import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { publishTitle } from "./fixtures";

/** An OCA's capacity holds when two fills race for its last room (the check and the reservation are one step). */

const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName("rheinnet-muc"));

describe("an OCA's capacity under concurrent fills", () => {
  it("lets one of two admin fills that each fit alone take the room and refuses the other before it copies", async () => {
    const a = await publishTitle("cap-race-a");
    const b = await publishTitle("cap-race-b");
    const size = (t: typeof a) => Object.values(t.files).reduce((s, f) => s + f.byteLength, 0);
    const OCA = (await site().describe()).ocas[0].ocaId;
    const before = (await site().describe()).ocas.find((o) => o.ocaId === OCA)!.usedBytes;
    // Room for either title, not both.
    const capacity = before + Math.max(size(a), size(b)) + Math.floor(Math.min(size(a), size(b)) / 2);
    await site().setCapacity(OCA, capacity);
    const results = await Promise.all([site().fillTitle(OCA, "cap-race-a"), site().fillTitle(OCA, "cap-race-b")]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.find((r) => !r.ok)).toMatchObject({ ok: false, code: "insufficient_capacity" });
    const o = (await site().describe()).ocas.find((x) => x.ocaId === OCA)!;
    expect(o.usedBytes).toBeLessThanOrEqual(capacity);
    const won = results.find((r) => r.ok)!.titleId;
    expect(o.titles.filter((t) => t.complete).map((t) => t.titleId)).toContain(won);
    // The refused title left nothing behind.
    expect(o.titles.find((t) => t.titleId !== won && t.titleId.startsWith("cap-race-"))).toBeUndefined();
    await site().setCapacity(OCA, null);
  });
});
