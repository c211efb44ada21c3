/**
 * Bundles the two stock players, unmodified, for public/stock.html (the page that shows stock hls.js
 * and dash.js following this CDN's Content Steering with no custom code):
 *   public/stock-hls.js   window.Hls     = hls.js     (default build: ContentSteeringController included)
 *   public/stock-dash.js  window.dashjs  = dash.js    (MediaPlayer with ContentSteeringController)
 * Nothing but the libraries goes into these files; the few lines that use them are in stock.html.
 *
 *   npx tsx scripts/build-stock-players.ts
 */
import { build } from "esbuild";
import { statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const BUNDLES = [
  { out: "stock-hls.js", contents: `import Hls from "hls.js";\nwindow.Hls = Hls;\n` },
  { out: "stock-dash.js", contents: `import dashjs from "dashjs";\nwindow.dashjs = dashjs;\n` },
] as const;

/**
 * One browser bundle (an IIFE for a plain <script> tag) of an entry given as source text: the build
 * the stock players' page and the SDK adapters' page share. Returns the file written.
 */
export async function bundleForBrowser(entry: { contents: string; sourcefile: string; loader: "js" | "ts" }, outfile: string): Promise<string> {
  const t0 = Date.now();
  await build({
    stdin: { ...entry, resolveDir: root },
    outfile,
    bundle: true,
    format: "iife",
    platform: "browser",
    target: ["chrome110", "firefox110", "safari16"],
    minify: true,
    legalComments: "eof",
    logLevel: "warning",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  console.log(`built ${path.relative(root, outfile)} (${Math.round(statSync(outfile).size / 1024)} KiB) in ${Date.now() - t0} ms`);
  return outfile;
}

/** Builds both bundles into `public/` (or `outDir`); returns the files written. */
export async function buildStockPlayers(outDir = path.join(root, "public")): Promise<string[]> {
  const written: string[] = [];
  for (const b of BUNDLES)
    written.push(await bundleForBrowser({ contents: b.contents, sourcefile: `${b.out}.entry.js`, loader: "js" }, path.join(outDir, b.out)));
  return written;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await buildStockPlayers();
}
