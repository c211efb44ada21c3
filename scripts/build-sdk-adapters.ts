/**
 * Bundles the page public/sdk-adapters.html runs: the SDK with its Shaka Player and dash.js adapters,
 * and both stock players, unmodified, into public/sdk-adapters.js (git-ignored, built by the e2e test):
 *   window.vcdn    = { createClient, devToken, SessionEvents, attachShaka, attachDashjs }
 *   window.shaka   = Shaka Player (default build, Content Steering included)
 *   window.dashjs  = dash.js
 * The few lines that wire them together are in the page.
 *
 *   npx tsx scripts/build-sdk-adapters.ts
 */
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bundleForBrowser } from "./build-stock-players";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const ENTRY = `
import shaka from "shaka-player";
import dashjs from "dashjs";
import { createClient, devToken, SessionEvents } from "./client/index";
import { attachShaka } from "./client/player/shaka-adapter";
import { attachDashjs } from "./client/player/dash-adapter";
window.shaka = shaka;
window.dashjs = dashjs;
window.vcdn = { createClient, devToken, SessionEvents, attachShaka, attachDashjs };
`;

/** Builds public/sdk-adapters.js (or into `outDir`); returns the file written. */
export function buildSdkAdapters(outDir = path.join(root, "public")): Promise<string> {
  return bundleForBrowser({ contents: ENTRY, sourcefile: "sdk-adapters.entry.ts", loader: "ts" }, path.join(outDir, "sdk-adapters.js"));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await buildSdkAdapters();
}
