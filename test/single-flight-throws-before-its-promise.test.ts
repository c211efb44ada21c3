import { describe, expect, it } from "vitest";
import { SingleFlight } from "../workers/shared/single-flight";

/** A run whose work throws before it returns a promise has ended: it does not block the next run. */
describe("a single-flight run that throws at once", () => {
  it("is not busy after work that throws before returning its promise", async () => {
    const flight = new SingleFlight(60_000);
    const boom = () => {
      throw new Error("no promise");
    };
    const run = flight.start(boom as unknown as () => Promise<void>);
    await expect(run).rejects.toThrow("no promise");
    expect(flight.busy()).toBe(false);
    let ran = false;
    await flight.start(async () => {
      ran = true;
    });
    expect(ran).toBe(true);
  });
});
