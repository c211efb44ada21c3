import { describe, expect, it } from "vitest";
import { StampedEntries } from "../workers/control/catalogue-cache";

/**
 * A change look drops each changed title's entries from the isolate's catalogue view. An OCA's health
 * change stamps every title it holds, so one look may name thousands of titles, in every isolate: the
 * work must follow the changed titles' own entries, not the whole view once per changed title.
 */

/** Steps taken through any Map's iterator while `fn` runs (a walk of a Map, entry by entry). */
function mapSteps(fn: () => void): number {
  const proto = Object.getPrototypeOf(new Map().keys()) as { next: (...a: unknown[]) => unknown };
  const next = proto.next;
  let steps = 0;
  proto.next = function (this: unknown, ...a: unknown[]) {
    steps++;
    return next.apply(this, a);
  };
  try {
    fn();
  } finally {
    proto.next = next;
  }
  return steps;
}

const stamp = (n: number) => ({ stamp: n, changedAt: 1_000 + n });

/** A view of 2,000 titles at two versions each, every entry loaded at stamp 1. */
function fullView(): StampedEntries<number> {
  const view = new StampedEntries<number>(4_000);
  for (let t = 0; t < 2_000; t++) for (const v of [1, 2]) view.set(`t${t}|${v}`, `t${t}`, v, stamp(1));
  return view;
}

describe("the catalogue view's change look", () => {
  it("drops a changed title's entries without walking every entry of the view", () => {
    const view = fullView();
    // A thousand changed titles the view does not hold: nothing to walk, nothing dropped.
    expect(mapSteps(() => Array.from({ length: 1_000 }, (_, i) => view.invalidate(`other-${i}`, stamp(2))))).toBe(0);
    expect(view.size).toBe(4_000);
    // A changed title the view holds loses its own entries, and only those.
    expect(mapSteps(() => view.invalidate("t7", stamp(2)))).toBeLessThan(10);
    expect(view.get("t7|1")).toBeUndefined();
    expect(view.get("t7|2")).toBeUndefined();
    expect(view.get("t8|1")).toBe(1);
    expect(view.size).toBe(3_998);
  });

  it("keeps entries loaded at the stamp the look reports, and drops the oldest past its bound", () => {
    const view = fullView();
    view.invalidate("t3", stamp(1));
    expect(view.get("t3|2")).toBe(2);
    // One more title: the least recently used entry goes (t0's first version), and t0 no longer answers for it.
    view.set("new|1", "new", 1, stamp(1));
    expect(view.size).toBe(4_000);
    expect(view.get("t0|1")).toBeUndefined();
    view.invalidate("t0", stamp(2));
    expect(view.get("t0|2")).toBeUndefined();
    expect(view.size).toBe(3_999);
    // An entry set again under its key is one entry, dropped once.
    view.set("new|1", "new", 5, stamp(1));
    expect(view.size).toBe(3_999);
    view.invalidate("new", stamp(2));
    expect(view.get("new|1")).toBeUndefined();
    expect(view.size).toBe(3_998);
    view.clear();
    expect(view.size).toBe(0);
  });
});
