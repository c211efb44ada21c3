/**
 * Folder layers, bottom to top (the README's "Layout" states the same):
 *   shared/ (contracts)  <  fill/ (pure planning)  <  workers/shared  <  workers/edge, workers/control, durable-objects
 *   <  client/, ingest/  <  r2-seed/  <  bench/, scripts/, test/
 * An import may only point down (or sideways where a rule below allows it). `npm run check` fails otherwise.
 */
const ABOVE_WORKER = "^(client|ingest|r2-seed|bench|scripts|test)/";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: "shared-is-the-bottom", severity: "error", comment: "shared/ holds contracts every side imports: it imports nothing of the project but itself.", from: { path: "^shared/" }, to: { path: "^(fill|workers|durable-objects|config|" + ABOVE_WORKER.slice(2) } },
    { name: "fill-is-pure", severity: "error", comment: "fill/ is pure planning shared by the Worker and the simulator.", from: { path: "^fill/" }, to: { path: "^(workers|durable-objects|config|" + ABOVE_WORKER.slice(2) } },
    { name: "worker-shared-stays-shared", severity: "error", comment: "workers/shared is what both planes may import: it imports neither plane nor the site object.", from: { path: "^workers/shared/" }, to: { path: "^(workers/(edge|control)|durable-objects)/" } },
    { name: "data-plane-never-imports-control-plane", severity: "error", comment: "The data plane answers from R2 and its batched site link only.", from: { path: "^workers/edge/" }, to: { path: "^(workers/control|durable-objects|fill)/" } },
    { name: "control-plane-reaches-sites-by-rpc", severity: "error", comment: "The control plane talks to site objects through stubs, never by importing them, and never imports the data plane.", from: { path: "^workers/control/" }, to: { path: "^(workers/edge|durable-objects)/" } },
    { name: "site-object-has-no-routes", severity: "error", comment: "durable-objects/ holds state and its invariants; no HTTP routing from either plane.", from: { path: "^durable-objects/" }, to: { path: "^workers/(edge|control)/" } },
    { name: "runtime-never-imports-tools", severity: "error", comment: "Worker code never imports the client, ingest, seed, benchmarks or tests.", from: { path: "^(shared|fill|workers|durable-objects)/" }, to: { path: ABOVE_WORKER } },
    { name: "client-imports-contracts-only", severity: "error", comment: "The client SDK ships to browsers: it sees the Worker only through shared/ contracts.", from: { path: "^client/" }, to: { path: "^(fill|workers|durable-objects|config|ingest|r2-seed|bench|scripts|test)/" } },
    { name: "ingest-imports-contracts-only", severity: "error", comment: "Ingest runs on Node against the admin API; it shares contracts, not Worker code or the demo seed.", from: { path: "^ingest/" }, to: { path: "^(fill|workers|durable-objects|client|r2-seed|bench|scripts|test)/" } },
    { name: "seed-below-tools", severity: "error", comment: "The seed and local stack use ingest and contracts, never the Worker's modules, benchmarks or tests.", from: { path: "^r2-seed/" }, to: { path: "^(workers/(edge|control)|durable-objects|bench|test)/" } },
    { name: "bench-never-imports-tests", severity: "error", comment: "Benchmarks and tests share harnesses through r2-seed/ and fill/, not through each other.", from: { path: "^bench/" }, to: { path: "^test/" } },
    { name: "no-node-in-worker-or-browser-code", severity: "error", comment: "Code that runs in workerd or a browser has no Node built-ins.", from: { path: "^(shared|fill|workers|durable-objects|client)/" }, to: { dependencyTypes: ["core"] } },
    { name: "no-circular", severity: "error", comment: "Cycles through type-only or dynamic imports are allowed.", from: {}, to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only", "dynamic-import"] } } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|public|\\.wrangler)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.node.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"], extensions: [".ts", ".js", ".json"] },
  },
};
