/**
 * Bundles the web player (client/player/main.ts + hls.js) into public/player.js, and the operator
 * dashboard (client/ops/main.ts + uPlot) into public/ops/, for Workers Static Assets. Run by wrangler's [build] command (`npm run build:client`) before dev and deploy.
 */
import { build } from "esbuild";
import { statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outfile = path.join(root, "public", "player.js");
const t0 = Date.now();
await build({
  entryPoints: [path.join(root, "client", "player", "main.ts")],
  outfile,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome110", "firefox110", "safari16"],
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  logLevel: "warning",
  define: { "process.env.NODE_ENV": '"production"' },
});
console.log(`built ${path.relative(root, outfile)} (${Math.round(statSync(outfile).size / 1024)} KiB) in ${Date.now() - t0} ms`);

// The operator dashboard (client/ops/main.ts + uPlot and its stylesheet) into public/ops/.
const opsOut = path.join(root, "public", "ops", "ops.js");
await build({
  entryPoints: [path.join(root, "client", "ops", "main.ts")],
  outfile: opsOut,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome110", "firefox110", "safari16"],
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  logLevel: "warning",
});
console.log(`built ${path.relative(root, opsOut)} (${Math.round(statSync(opsOut).size / 1024)} KiB)`);
