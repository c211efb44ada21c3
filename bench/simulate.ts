/**
 * The simulation loop: one trace day at a time, every policy plans (or caches) and serves the same
 * sessions, and each records its day. Policies never see each other's state.
 */
import type { DayMetrics, PolicyName } from "./metrics";
import { actualPeak, expectedEstimator, learnedPeak, oracleEstimator, PlannedPolicy, predictionEstimator, sameDayReplan, yesterdayEstimator } from "./planned";
import { ReactivePolicy } from "./reactive";
import { World, type SimConfig } from "./world";

interface Policy {
  readonly name: PolicyName;
  run(k: number, demand: ReturnType<World["trace"]["day"]>): DayMetrics;
}

function makePolicy(name: PolicyName, world: World): Policy {
  const windowDays = world.cfg.predict?.windowDays ?? 14;
  switch (name) {
    case "prediction":
      return new PlannedPolicy(
        name,
        world,
        predictionEstimator(world),
        learnedPeak(world, windowDays),
        world.cfg.sameDayReplan === false ? undefined : sameDayReplan(world),
      );
    case "yesterday":
      return new PlannedPolicy(name, world, yesterdayEstimator(world), learnedPeak(world, 1));
    case "oracle":
      return new PlannedPolicy(name, world, oracleEstimator(), actualPeak(world));
    case "expected":
      return new PlannedPolicy(name, world, expectedEstimator(), actualPeak(world));
    case "lru":
    case "s3fifo":
    case "wtinylfu":
      return new ReactivePolicy(name, world);
  }
}

export interface SimRun {
  world: World;
  /** Every day (warm-up included) per policy. */
  days: Record<string, DayMetrics[]>;
  elapsedMs: number;
}

/** Runs the simulation; `progress` is told about each finished day. */
export function simulate(cfg: SimConfig, progress?: (k: number, total: number, today: Record<string, DayMetrics>) => void): SimRun {
  const t0 = Date.now();
  const world = new World(cfg);
  const policies = cfg.policies.map((p) => makePolicy(p, world));
  const days: Record<string, DayMetrics[]> = Object.fromEntries(cfg.policies.map((p) => [p, []]));
  for (let k = 0; k < world.totalDays; k++) {
    const demand = world.trace.day(k, world.topo.embedded);
    // The oracle plans with day k's demand; history (what predictors see) only ever reaches k - 1.
    const today: Record<string, DayMetrics> = {};
    for (const p of policies) {
      const m = p.run(k, demand);
      days[p.name].push(m);
      today[p.name] = m;
    }
    world.record(k, demand);
    progress?.(k, world.totalDays, today);
  }
  return { world, days, elapsedMs: Date.now() - t0 };
}
