import { describe, expect, it } from "vitest";
import { mostReplicated, REPLICAS_LISTED } from "../workers/control/fill-cycle";

/**
 * A cycle's figures are kept with the site's plan and answered on every dashboard refresh: their copy
 * count per title lists the titles with the most copies, not the whole catalogue (a count per title of a
 * 70,000-title plan is about 2 MB, one stored value's limit).
 */

describe("a fill cycle's figures", () => {
  it("list the titles with the most copies, most first, at most REPLICAS_LISTED of a catalogue's plan", () => {
    const plan: Record<string, number> = {};
    for (let i = 0; i < 70_000; i++) plan[`t-${String(i).padStart(5, "0")}`] = 1 + (i % 5 === 0 ? 2 : 0) + (i === 69_999 ? 5 : 0);
    const listed = mostReplicated(plan);
    expect(Object.keys(listed)).toHaveLength(REPLICAS_LISTED);
    expect(Object.entries(listed)[0]).toEqual(["t-69999", 6]);
    expect(Object.values(listed).every((n) => n >= 3)).toBe(true);
    // Ties go by id: the same plan lists the same titles.
    expect(Object.keys(listed)[1]).toBe("t-00000");
    expect(JSON.stringify(listed).length).toBeLessThan(2_000);
  });

  it("list a small plan whole", () => {
    expect(mostReplicated({ a: 1, b: 3, c: 2 })).toEqual({ b: 3, c: 2, a: 1 });
    expect(Object.keys(mostReplicated({ a: 1, b: 3, c: 2 }))).toEqual(["b", "c", "a"]);
  });
});
