import { describe, expect, it } from "vitest";
import { TitleQueue } from "../bench/title-queue";
import { mulberry32 } from "../fill/rng";

/** The queue's titles and sizes, oldest first, read through first/after. */
function contents(q: TitleQueue): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let t = q.first(); t !== -1; t = q.after(t)) out.push([t, q.sizeOf(t) as number]);
  return out;
}

describe("the title queue under the reactive caches", () => {
  it("keeps the order a Map keeps when titles are pushed, moved to the newest end and deleted", () => {
    const rng = mulberry32(11);
    const q = new TitleQueue();
    // The reference: a Map, deleted and set again to move a title to the newest end.
    const model = new Map<number, number>();
    for (let i = 0; i < 20_000; i++) {
      const title = Math.floor(rng() * 300); // past the queue's first 16 slots, so it grows
      const op = rng();
      if (op < 0.5) {
        const size = 1 + Math.floor(rng() * 9);
        q.push(title, size);
        model.delete(title);
        model.set(title, size);
      } else if (op < 0.8) {
        expect(q.delete(title)).toBe(model.delete(title));
      } else if (model.size > 0) {
        const oldest = model.keys().next().value as number;
        expect(q.first()).toBe(oldest);
        q.delete(oldest);
        model.delete(oldest);
      }
      expect(q.length).toBe(model.size);
      expect(q.has(title)).toBe(model.has(title));
      expect(q.sizeOf(title)).toBe(model.get(title));
    }
    expect(contents(q)).toEqual([...model.entries()]);
  });

  it("is empty with first() at -1 once every title has left", () => {
    const q = new TitleQueue();
    q.push(3, 10);
    q.push(40, 20);
    q.delete(3);
    q.delete(40);
    expect(q.length).toBe(0);
    expect(q.first()).toBe(-1);
    expect(q.delete(40)).toBe(false);
    expect(q.sizeOf(1_000)).toBeUndefined();
  });

  it("refuses a title that is not a small integer index", () => {
    const q = new TitleQueue();
    expect(() => q.push(-1, 1)).toThrow(RangeError);
    expect(() => q.push(1.5, 1)).toThrow(RangeError);
  });
});
