/**
 * Run by `npm run deploy` before `wrangler deploy`: refuses a deploy that would fail or ship unsafely
 * (the placeholder D1 database_id, DEV_MODE not "false", a topology bucket wrangler.toml does not bind,
 * a compatibility date the runtime cannot take, a missing or weak secret) and warns about the demo
 * topology. The checks themselves are scripts/deploy-checks.ts.
 *
 *   tsx scripts/deploy-preflight.ts [--config wrangler.toml] [--secrets-file prod.env]
 *
 * With --secrets-file (the file `wrangler deploy --secrets-file` then uploads) the values are judged:
 * length, entropy, placeholders, reuse, the URL_SIGNING_KEYS ring. Without it, `wrangler secret list`
 * tells which secrets the Worker has (values cannot be read back, so only their presence is checked).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_readConfig } from "wrangler";
import { parseDevVars } from "../ingest/dev-vars";
import {
  compatibilityDateChecks,
  deployChecks,
  deployedSecretChecks,
  parseSecretsFile,
  secretChecks,
  workerdDate,
  type DeployConfig,
  type DeployTopology,
} from "./deploy-checks";

/** The keys of a dev key ring, or none when the value is not one. */
function ringValues(v: string): string[] {
  try {
    const ring: unknown = JSON.parse(v);
    return ring && typeof ring === "object" ? Object.values(ring).filter((k): k is string => typeof k === "string") : [];
  } catch {
    return [];
  }
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name: string) => {
  const at = process.argv.indexOf(name);
  return at > 0 && process.argv[at + 1] ? resolve(process.argv[at + 1]) : null;
};
const configPath = arg("--config") ?? join(root, "wrangler.toml");
const secretsFile = arg("--secrets-file");

const config = unstable_readConfig({ config: configPath }) as unknown as DeployConfig;
const topology = JSON.parse(readFileSync(join(root, "config", "topology.json"), "utf8")) as DeployTopology;
const { errors, warnings } = deployChecks(config, topology);

const workerdVersion = (createRequire(import.meta.url)("workerd/package.json") as { version: string }).version;
errors.push(...compatibilityDateChecks(config.compatibility_date, new Date().toISOString().slice(0, 10), workerdDate(workerdVersion)));

if (secretsFile) {
  const devVarsFile = join(root, ".dev.vars");
  const dev = existsSync(devVarsFile) ? [...parseDevVars(readFileSync(devVarsFile, "utf8")).values()] : [];
  // A dev key ring's keys count as dev values too.
  const devValues = new Set(dev.flatMap((v) => [v, ...ringValues(v)]));
  errors.push(...secretChecks(parseSecretsFile(readFileSync(secretsFile, "utf8"), parseDevVars), config.vars?.URL_SIGNING_KID, devValues));
} else {
  try {
    const out = execFileSync(join(root, "node_modules", ".bin", "wrangler"), ["secret", "list", "--format", "json", "--config", configPath], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const listed = JSON.parse(out.slice(out.indexOf("["))) as Array<{ name: string }>;
    errors.push(...deployedSecretChecks(listed.map((s) => s.name)));
    warnings.push("secret values were not judged (they cannot be read back): pass --secrets-file to check their strength before they are uploaded");
  } catch {
    errors.push(
      "could not list the Worker's secrets (`wrangler secret list`: not logged in, or no Worker yet): set them with `npx wrangler secret put`, or run this with --secrets-file FILE and deploy with `wrangler deploy --secrets-file FILE`",
    );
  }
}

for (const w of warnings) console.warn(`deploy preflight: warning: ${w}`);
for (const e of errors) console.error(`deploy preflight: ${e}`);
if (errors.length > 0) {
  console.error(`deploy preflight: ${errors.length} problem(s); nothing was deployed`);
  process.exit(1);
}
console.log("deploy preflight: ok");
