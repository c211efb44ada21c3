/**
 * Builds the SDK package in client/dist: the JavaScript (one ESM bundle by esbuild, no runtime
 * dependencies), the declarations (tsc), rolled into one index.d.ts by api-extractor, which also
 * checks the API report (client/etc/client.api.md); then the API reference in docs/sdk-api/
 * (api-documenter, from the same model). `--local` updates the report instead of failing
 * on a change (run it when the public API changes on purpose, and commit the report).
 *
 *   tsx scripts/build-sdk.ts [--local]
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Extractor, ExtractorConfig } from "@microsoft/api-extractor";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const client = join(root, "client");
const local = process.argv.includes("--local");

rmSync(join(client, "dist"), { recursive: true, force: true });
await build({
  entryPoints: [join(client, "index.ts")],
  outfile: join(client, "dist", "index.js"),
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  sourcemap: true,
  logLevel: "warning",
});
execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(client, "tsconfig.build.json")], { stdio: "inherit" });
const result = Extractor.invoke(ExtractorConfig.loadFileAndPrepare(join(client, "api-extractor.json")), { localBuild: local, showVerboseMessages: false });
rmSync(join(client, "dist", "types"), { recursive: true, force: true });
if (!result.succeeded) {
  console.error(
    result.apiReportChanged
      ? "The SDK's public API changed: review client/dist/api-report-temp/client.api.md, then run `npm run build:sdk -- --local` and commit client/etc/client.api.md."
      : `api-extractor: ${result.errorCount} errors, ${result.warningCount} warnings`,
  );
  process.exit(1);
}
// The API reference (markdown, one page per item) from the same model, into docs/sdk-api/.
rmSync(join(root, "docs", "sdk-api"), { recursive: true, force: true });
const documenter = join(root, "node_modules", "@microsoft", "api-documenter", "bin", "api-documenter");
execFileSync(process.execPath, [documenter, "markdown", "-i", join(client, "dist", "api"), "-o", join(root, "docs", "sdk-api")], { stdio: "pipe" });
console.log(
  `built client/dist (index.js, index.d.ts) and docs/sdk-api; API report ${result.apiReportChanged ? "updated" : "unchanged"}${result.warningCount ? `, ${result.warningCount} warnings` : ""}`,
);
