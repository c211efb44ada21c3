import { describe, expect, it } from "vitest";
import { chooseRung, DEFAULT_ABR } from "../client/abr";

// The up-switch budget must be no looser than the hold budget. ABR parameters are the app's
// (`FetcherOptions.abr`, each only checked to be a number >= 0): with `upSafety` above `safety`, a rung
// between the two budgets was taken on one segment and left on the next, for as long as playback ran.

const LADDER = [{ bandwidth: 1_000_000 }, { bandwidth: 2_000_000 }, { bandwidth: 4_000_000 }];

describe("chooseRung with an up-switch share above the hold share", () => {
  it("settles on one rung under steady throughput instead of switching on every segment", () => {
    const p = { ...DEFAULT_ABR, safety: 0.6, upSafety: 0.9 };
    // 5 Mbps, full buffer: hold budget 3 Mbps, up budget as configured 4.5 Mbps (would reach 4 Mbps).
    let current: number | null = 1;
    const picks: number[] = [];
    for (let segment = 0; segment < 6; segment++) {
      current = chooseRung({ rungs: LADDER, throughputBps: 5_000_000, bufferS: 10, current }, p);
      picks.push(current);
    }
    expect(new Set(picks).size).toBe(1);
    expect(picks[0]).toBe(1);
  });

  it("keeps the defaults' behaviour: up within 65 %, hold within 80 %", () => {
    expect(chooseRung({ rungs: LADDER, throughputBps: 6_200_000, bufferS: 10, current: 1 })).toBe(2);
    expect(chooseRung({ rungs: LADDER, throughputBps: 5_200_000, bufferS: 10, current: 1 })).toBe(1);
    expect(chooseRung({ rungs: LADDER, throughputBps: 5_200_000, bufferS: 10, current: 2 })).toBe(2);
  });
});
