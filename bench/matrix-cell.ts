/**
 * One run of the scenario matrix, in its own process (bench/matrix.ts forks one per core): reads a
 * SimConfig from argv, simulates, and sends back the per-policy summaries and the targets.
 */
import { evaluate } from "./report";
import { simulate } from "./simulate";
import type { SimConfig } from "./world";

const cfg = JSON.parse(process.argv[2]) as SimConfig;
const run = simulate(cfg);
const report = evaluate(run);
process.send?.({ summaries: report.summaries, targets: report.targets, elapsedMs: run.elapsedMs }, () => process.exit(0));
