/**
 * What `npm run deploy` checks before `wrangler deploy` (scripts/deploy-preflight.ts reads the files;
 * this module only judges them, so the Worker tests run it too). Errors are what a first deploy would
 * trip on or ship unsafely; warnings are what still runs but is almost certainly not meant for production.
 */

/** The parts of the parsed wrangler config the checks read. */
export interface DeployConfig {
  d1_databases?: Array<{ binding: string; database_id?: string }>;
  r2_buckets?: Array<{ binding: string; bucket_name?: string }>;
  vars?: Record<string, unknown>;
  triggers?: { crons?: string[] };
}

/** The parts of config/topology.json the checks read. */
export interface DeployTopology {
  origin: { id: string; bucket: string };
  regions: Array<{ id: string; bucket: string }>;
  isps: Array<{ id: string; asns: number[] }>;
  sites: Array<{ id: string; region: string }>;
}

export interface DeployVerdict {
  errors: string[];
  warnings: string[];
}

/** The D1 id wrangler.toml ships with: a real deploy must carry the one `wrangler d1 create vcdn` printed. */
export const PLACEHOLDER_DATABASE_ID = "00000000-0000-0000-0000-000000000000";

/** URL_SIGNING_KID's rule (workers/shared/url-token.ts KID_PATTERN). */
const KID = /^[a-z][a-z0-9]{0,15}$/;

/**
 * ASNs no real client has (RFC 5398 documentation, RFC 6996 private use): an ISP listing only these is
 * the demo's, and real clients (request.cf.asn) never match it.
 */
export function isReservedAsn(asn: number): boolean {
  return (asn >= 64496 && asn <= 65534) || (asn >= 65536 && asn <= 65551) || (asn >= 4_200_000_000 && asn <= 4_294_967_294);
}

export function deployChecks(config: DeployConfig, topology: DeployTopology): DeployVerdict {
  const errors: string[] = [];
  const warnings: string[] = [];

  const db = config.d1_databases?.find((d) => d.binding === "DB");
  if (!db) errors.push('wrangler.toml binds no D1 database as DB ([[d1_databases]] binding = "DB")');
  else if (!db.database_id || db.database_id === PLACEHOLDER_DATABASE_ID) {
    errors.push(
      `wrangler.toml's D1 database_id is the placeholder ${PLACEHOLDER_DATABASE_ID}: run \`npx wrangler d1 create vcdn\` and put the database_id it prints in wrangler.toml`,
    );
  }

  const devMode = config.vars?.DEV_MODE;
  if (devMode !== "false") {
    errors.push(
      `DEV_MODE is ${JSON.stringify(devMode)} in wrangler.toml [vars]: a deploy keeps it "false" (else X-Client-Geo is honoured and /v1/dev/* answers)`,
    );
  }

  const kid = config.vars?.URL_SIGNING_KID;
  if (typeof kid !== "string" || !KID.test(kid)) {
    errors.push(`URL_SIGNING_KID ${JSON.stringify(kid)} must match ${KID} (a key id of the URL_SIGNING_KEYS secret, e.g. "k1"), never a secret`);
  }

  const bound = new Set((config.r2_buckets ?? []).map((b) => b.binding));
  const named: Array<[string, string]> = [
    [`origin ${topology.origin.id}`, topology.origin.bucket],
    ...topology.regions.map((r): [string, string] => [`region ${r.id}`, r.bucket]),
  ];
  for (const [who, bucket] of named) {
    if (!bound.has(bucket))
      errors.push(`config/topology.json: ${who} names R2 binding ${bucket}, which wrangler.toml does not bind ([[r2_buckets]] binding = "${bucket}")`);
  }
  for (const site of topology.sites) {
    if (!topology.regions.some((r) => r.id === site.region)) errors.push(`config/topology.json: site ${site.id} names unknown region ${site.region}`);
  }

  if (!config.triggers?.crons?.length)
    warnings.push("wrangler.toml has no cron trigger: no site plans or fills itself, and origin's withdrawn list is never rewritten hourly");

  const asns = topology.isps.flatMap((i) => i.asns);
  if (asns.length > 0 && asns.every(isReservedAsn)) {
    warnings.push(
      "config/topology.json is the demo topology (its ISPs list only documentation or private ASNs, which no real client has: every client is steered to IXP sites). " +
        "Replace it with your ISPs (their real ASNs), regions and sites before deploying: the admin API adds sites and OCAs but not ISPs or regions, " +
        "and once it has changed the topology the copy in D1 wins over this file.",
    );
  }
  return { errors, warnings };
}
