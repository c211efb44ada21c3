/**
 * Builds the SDK package in client/dist: the JavaScript (an ESM bundle per entry by esbuild, no runtime
 * dependencies: `index` and the hls.js helper `hls`), the declarations (tsc), rolled into one .d.ts per
 * entry by api-extractor, which also checks the API reports (client/etc/client.api.md, client-hls.api.md); then the API reference in docs/sdk-api/
 * (api-documenter, from the same model). `--local` updates the report instead of failing
 * on a change (run it when the public API changes on purpose, and commit the report).
 *
 *   tsx scripts/build-sdk.ts [--local]
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Extractor, ExtractorConfig } from "@microsoft/api-extractor";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const client = join(root, "client");
const local = process.argv.includes("--local");

rmSync(join(client, "dist"), { recursive: true, force: true });
// Two entries: the SDK, and its hls.js helper (`/hls`), whose only hls.js imports are types.
for (const entry of ["index", "hls"]) {
  await build({
    entryPoints: [join(client, `${entry}.ts`)],
    outfile: join(client, "dist", `${entry}.js`),
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    sourcemap: true,
    logLevel: "warning",
  });
}
execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(client, "tsconfig.build.json")], { stdio: "inherit" });
// One API report per entry (the /hls report lists the root entry's types it uses as not exported there: they come from the root).
const results = ["api-extractor.json", "api-extractor-hls.json"].map((config) => ({
  config,
  result: Extractor.invoke(ExtractorConfig.loadFileAndPrepare(join(client, config)), { localBuild: local, showVerboseMessages: false }),
}));
// /hls ships its one declaration file as tsc wrote it: it imports the root entry's types by the
// package's name, so an app sees one PlaySession (a rolled-up copy would be a second, incompatible one).
copyFileSync(join(client, "dist", "types", "client", "player", "hls-hook.d.ts"), join(client, "dist", "hls.d.ts"));
rmSync(join(client, "dist", "types"), { recursive: true, force: true });
for (const { config, result } of results) {
  if (result.succeeded) continue;
  console.error(
    result.apiReportChanged
      ? `The SDK's public API changed (${config}): review client/dist/api-report-temp/, then run \`npm run build:sdk -- --local\` and commit client/etc/.`
      : `api-extractor (${config}): ${result.errorCount} errors, ${result.warningCount} warnings`,
  );
  process.exit(1);
}
const result = results[0].result;
// The API reference (markdown, one page per item) from the same model, into docs/sdk-api/.
rmSync(join(root, "docs", "sdk-api"), { recursive: true, force: true });
const documenter = join(root, "node_modules", "@microsoft", "api-documenter", "bin", "api-documenter");
execFileSync(process.execPath, [documenter, "markdown", "-i", join(client, "dist", "api"), "-o", join(root, "docs", "sdk-api")], { stdio: "pipe" });
console.log(
  `built client/dist (index.js, index.d.ts) and docs/sdk-api; API report ${result.apiReportChanged ? "updated" : "unchanged"}${result.warningCount ? `, ${result.warningCount} warnings` : ""}`,
);
