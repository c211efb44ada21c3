/**
 * Bundles the web player (client/player/main.ts + hls.js) into public/player.js, and the operator
 * dashboard (client/ops/main.ts + uPlot) into public/ops/, for Workers Static Assets. Run by wrangler's [build] command (`npm run build:client`) before dev and deploy.
 */
import { build } from "esbuild";
import { statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** Bundles one browser entry point (minified, with a linked source map and licences). */
async function bundle(entry: string, outfile: string, define: Record<string, string> = {}): Promise<void> {
  const t0 = Date.now();
  await build({
    entryPoints: [path.join(root, entry)],
    outfile,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["chrome110", "firefox110", "safari16"],
    minify: true,
    sourcemap: "linked",
    legalComments: "linked",
    logLevel: "warning",
    define,
  });
  console.log(`built ${path.relative(root, outfile)} (${Math.round(statSync(outfile).size / 1024)} KiB) in ${Date.now() - t0} ms`);
}

await bundle("client/player/main.ts", path.join(root, "public", "player.js"), { "process.env.NODE_ENV": '"production"' });
// The operator dashboard (uPlot and its stylesheet come along).
await bundle("client/ops/main.ts", path.join(root, "public", "ops", "ops.js"));
