/**
 * What `npm run deploy` checks before `wrangler deploy` (scripts/deploy-preflight.ts reads the files;
 * this module only judges them, so the Worker tests run it too). Errors are what a first deploy would
 * trip on or ship unsafely; warnings are what still runs but is almost certainly not meant for production.
 */

import { isInheritedName } from "../shared/ids";

/** URL_SIGNING_KID's rule (workers/shared/url-token.ts KID_PATTERN, isKid: not imported, it needs the Workers types). */
const KID_PATTERN = /^[a-z][a-z0-9]{0,15}$/;
const isKid = (kid: string): boolean => KID_PATTERN.test(kid) && !isInheritedName(kid);

/** The parts of the parsed wrangler config the checks read. */
export interface DeployConfig {
  compatibility_date?: string;
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

/** The Worker's secrets (workers/secrets.d.ts): each must be set, strong, and none a copy of another. */
export const SECRET_NAMES = ["MEMBER_JWT_SECRET", "URL_SIGNING_KEYS", "ADMIN_TOKEN"] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

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
  // Not echoed: a value that is no key id may be a secret pasted in the wrong place.
  if (typeof kid !== "string" || !isKid(kid)) {
    errors.push(
      `URL_SIGNING_KID must match ${KID_PATTERN} and not be a reserved name like "constructor" (a key id of the URL_SIGNING_KEYS secret, e.g. "k1"), never a secret`,
    );
  }
  // A [vars] value is plain text in the repository and in the dashboard, and a var shadows the secret of its name.
  for (const name of SECRET_NAMES) {
    if (config.vars && Object.hasOwn(config.vars, name))
      errors.push(`${name} is in wrangler.toml [vars]: a secret goes in \`wrangler secret put ${name}\`, never in the repository`);
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

/**
 * Shortest secret a deploy takes: 32 characters, the 128 bits of `openssl rand -hex 16`. The Worker
 * itself runs on 16 (workers/shared/url-token.ts MIN_SECRET_LENGTH) so a local setup is never blocked; production gets the margin.
 */
export const MIN_DEPLOY_SECRET_LENGTH = 32;
/**
 * Least estimated entropy (length × the Shannon entropy of its characters) of a deployed secret, in bits:
 * `openssl rand -hex 16` estimates 90 or more, a word or a pattern stretched to 32 characters far less.
 */
export const MIN_DEPLOY_SECRET_BITS = 80;
/** Most keys a URL_SIGNING_KEYS ring may hold: the signing key and a few old ones kept for verification. */
export const MAX_RING_KEYS = 8;
/** Words of hand-typed or copied placeholders ("changeme", "test-admin-token", "<32+ random bytes, hex>"). */
const PLACEHOLDER = /(^|[^a-z0-9])(example|change.?me|placeholder|password|secret|token|test|dummy|random|your)|[<>…]/i;

/** Estimated entropy of a string in bits: its length times the Shannon entropy of its character counts. */
export function estimatedBits(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) perChar -= (n / s.length) * Math.log2(n / s.length);
  return perChar * [...s].length;
}

/** The longest run of characters each one above, below or equal to the one before ("abcdef", "987", "aaaa"). */
function longestRun(s: string): number {
  let best = Math.min(s.length, 1);
  for (const step of [1, -1, 0]) {
    let run = 1;
    for (let i = 1; i < s.length; i++) {
      run = s.charCodeAt(i) - s.charCodeAt(i - 1) === step ? run + 1 : 1;
      best = Math.max(best, run);
    }
  }
  return best;
}

/** Share of a string's 3-character windows that are distinct: a repeated word ("Summer2026Summer2026…") has few. */
function distinctTrigrams(s: string): number {
  const grams = new Set<string>();
  for (let i = 0; i + 3 <= s.length; i++) grams.add(s.slice(i, i + 3));
  return grams.size / Math.max(1, s.length - 2);
}

/** Why a secret value is too weak to deploy (never quoting it), or null. */
export function weakSecret(value: string): string | null {
  if (value.length < MIN_DEPLOY_SECRET_LENGTH) return `is shorter than ${MIN_DEPLOY_SECRET_LENGTH} characters`;
  if (/[^\x21-\x7e]/.test(value)) return "holds whitespace or characters outside printable ASCII (a trailing newline?)";
  if (PLACEHOLDER.test(value)) return "looks like a placeholder or example value, not a random one";
  if (longestRun(value) >= 8) return "holds a run like 'abcdefgh' or 'aaaaaaaa': not random";
  if (distinctTrigrams(value) < 0.75) return "repeats itself: not random";
  if (estimatedBits(value) < MIN_DEPLOY_SECRET_BITS) return `has too little entropy (under ${MIN_DEPLOY_SECRET_BITS} bits estimated)`;
  return null;
}

/**
 * Judges the secret values a deploy uploads (`--secrets-file`): each of SECRET_NAMES set and strong,
 * URL_SIGNING_KEYS a well-formed ring of at most MAX_RING_KEYS strong keys holding the signing key id
 * (old ids kept to verify the URLs they signed), no value reused across roles or keys, and none equal
 * to a value of the local .dev.vars (`devValues`): a dev secret lives in plain text on a laptop.
 * Messages name secrets, never quote them.
 */
export function secretChecks(secrets: ReadonlyMap<string, string>, signingKid: unknown, devValues: ReadonlySet<string> = new Set()): string[] {
  const errors: string[] = [];
  const seen = new Map<string, string>();
  const judge = (who: string, value: string) => {
    const weak = weakSecret(value);
    if (weak) errors.push(`${who} ${weak}: use e.g. \`openssl rand -hex 32\``);
    else if (devValues.has(value)) errors.push(`${who} is a value of the local .dev.vars: a deploy gets a fresh one`);
    const other = seen.get(value);
    if (other !== undefined) errors.push(`${who} is the same value as ${other}: each secret and key gets its own`);
    else seen.set(value, who);
  };
  for (const name of SECRET_NAMES) {
    const value = secrets.get(name);
    if (value === undefined || value === "") {
      errors.push(`secret ${name} is not set`);
      continue;
    }
    if (name !== "URL_SIGNING_KEYS") {
      judge(name, value);
      continue;
    }
    let ring: unknown;
    try {
      ring = JSON.parse(value);
    } catch {
      errors.push('URL_SIGNING_KEYS is not JSON: {"k1":"<secret>"}, old key ids kept beside the signing one');
      continue;
    }
    if (!ring || typeof ring !== "object" || Array.isArray(ring)) {
      errors.push("URL_SIGNING_KEYS must be a JSON object of key id to secret");
      continue;
    }
    const entries = Object.entries(ring);
    if (entries.length > MAX_RING_KEYS)
      errors.push(`URL_SIGNING_KEYS holds ${entries.length} keys: at most ${MAX_RING_KEYS} (drop keys older than the longest session)`);
    for (const [i, [kid, secret]] of entries.slice(0, MAX_RING_KEYS).entries()) {
      if (!isKid(kid)) errors.push(`URL_SIGNING_KEYS: key id number ${i + 1} must match ${KID_PATTERN} and not be a reserved name`);
      else if (typeof secret !== "string") errors.push(`URL_SIGNING_KEYS: the secret of ${kid} is not a string`);
      else judge(`URL_SIGNING_KEYS key ${kid}`, secret);
    }
    if (typeof signingKid === "string" && !Object.hasOwn(ring, signingKid))
      errors.push(`URL_SIGNING_KEYS has no key ${signingKid} (URL_SIGNING_KID, the key new URLs are signed with)`);
  }
  return errors;
}

/** Refuses a deploy whose Worker lacks one of SECRET_NAMES (`wrangler secret list` names; values cannot be read back). */
export function deployedSecretChecks(names: readonly string[]): string[] {
  return SECRET_NAMES.filter((n) => !names.includes(n)).map(
    (n) => `secret ${n} is not set on the Worker: \`npx wrangler secret put ${n}\` (or deploy with --secrets-file), else its routes answer 503 not_configured`,
  );
}

/**
 * Refuses a compatibility_date that is not a date, lies after today (Cloudflare refuses the upload), or
 * after the newest date the installed workerd supports (`wrangler dev` and the tests would run another
 * runtime than the one deployed). `runtimeDate` is workerd's, from its version 1.YYYYMMDD.n.
 */
export function compatibilityDateChecks(date: unknown, today: string, runtimeDate: string | null): string[] {
  if (typeof date !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date)))
    return [`wrangler.toml compatibility_date ${JSON.stringify(date)} is not a YYYY-MM-DD date`];
  const errors: string[] = [];
  if (date > today) errors.push(`wrangler.toml compatibility_date ${date} is after today (${today}): Cloudflare refuses a date in the future`);
  if (runtimeDate !== null && date > runtimeDate)
    errors.push(`wrangler.toml compatibility_date ${date} is newer than the installed workerd supports (${runtimeDate}): update wrangler or lower the date`);
  return errors;
}

/** The newest compatibility date a workerd version supports (1.20261117.1 → 2026-11-17), or null. */
export function workerdDate(version: string): string | null {
  const m = /^1\.(\d{4})(\d{2})(\d{2})\./.exec(version);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : null;
}

/** The secret values of a `--secrets-file` (JSON object or dotenv, as `wrangler deploy --secrets-file` takes). */
export function parseSecretsFile(text: string, parseDotenv: (t: string) => Map<string, string>): Map<string, string> {
  if (!text.trimStart().startsWith("{")) return parseDotenv(text);
  const parsed: unknown = JSON.parse(text);
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("the secrets file must be a JSON object of name to value");
  return new Map(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === "string"));
}
