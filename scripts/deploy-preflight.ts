/**
 * Run by `npm run deploy` before `wrangler deploy`: refuses a deploy that would fail or ship unsafely
 * (the placeholder D1 database_id, DEV_MODE not "false", a topology bucket wrangler.toml does not bind)
 * and warns about the demo topology. The checks themselves are scripts/deploy-checks.ts.
 *
 *   tsx scripts/deploy-preflight.ts [--config wrangler.toml]
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_readConfig } from "wrangler";
import { deployChecks, type DeployConfig, type DeployTopology } from "./deploy-checks";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const at = process.argv.indexOf("--config");
const configPath = at > 0 && process.argv[at + 1] ? resolve(process.argv[at + 1]) : join(root, "wrangler.toml");

const config = unstable_readConfig({ config: configPath }) as unknown as DeployConfig;
const topology = JSON.parse(readFileSync(join(root, "config", "topology.json"), "utf8")) as DeployTopology;
const { errors, warnings } = deployChecks(config, topology);

for (const w of warnings) console.warn(`deploy preflight: warning: ${w}`);
for (const e of errors) console.error(`deploy preflight: ${e}`);
if (errors.length > 0) {
  console.error(`deploy preflight: ${errors.length} problem(s); nothing was deployed`);
  process.exit(1);
}
console.log("deploy preflight: ok");
