/** Admin: the live topology: read it with each OCA's health and holdings; add a site, an OCA or an ISP, resize, retire, change an ISP's ASNs. */
import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { ApiError } from "../../shared/errors";
import { countryCodeSchema, isSafeId, SAFE_ID_RULE } from "../../../shared/ids";
import { topology, topologyVersion, type SiteSpec, type Topology } from "../../shared/topology";
import { storedTopology, storeTopology } from "../../shared/topology-live";
import { steeringTable } from "../../shared/steering-table";
import { siteStub } from "../../shared/site-link";
import type { OcaHealth } from "../../shared/site-view";
import { isMissingMethod } from "../../shared/missing-method";
import { viewLagMs } from "../../shared/view-ttl";
import { sessionTtlS } from "../session-ttl";
import { validationHook } from "../validation";
import { type AdminEnv, ispParam, params, siteOcaParam, siteParam } from "./params";

export const topologyRoutes = new Hono<AdminEnv>();

topologyRoutes.get("/topology", async (c) => {
  const { health, holding } = await steeringTable.summary(c.env.DB);
  return c.json({
    version: topologyVersion(),
    origin: topology.origin,
    regions: topology.regions,
    isps: topology.isps,
    sites: topology.sites.map((s) => ({
      ...s,
      ocas: s.ocas.map((o) => ({
        ...o,
        health: health.get(o.id) ?? "healthy",
        titles: holding.get(o.id)?.titles ?? 0,
        bytes: holding.get(o.id)?.bytes ?? 0,
      })),
    })),
    retired: topology.retired ?? [],
  });
});

const id = z.string().refine(isSafeId, SAFE_ID_RULE);
/**
 * A site's or an ISP's name as operators read it (the dashboard, logs, the API): 1-100 characters, not
 * blank, no control characters (a NUL, an escape sequence or a line break was stored and shown as given).
 */
const displayName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^(?=.*\S)[^\p{Cc}]+$/u, "a name must have a visible character and no control characters (line breaks, escapes, NUL)");
export const ocaSpecBody = z.strictObject({
  id,
  capacityBytes: z.number().int().min(0).max(1e15),
  throughputBps: z.number().int().positive().max(1e13),
});
/** OCAs one site may have, whether it is added with them or they join it one by one. */
export const MAX_OCAS_PER_SITE = 32;
const hour = z.number().int().min(0).max(23);
export const siteSpecBody = z.strictObject({
  id,
  name: displayName,
  tier: z.enum(["embedded", "ixp"]),
  region: id,
  isp: id.optional(),
  parent: id.optional(),
  country: countryCodeSchema,
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  timeZone: z.string().min(1).max(64),
  // [startHour, endHour) local, wrapping midnight when start > end: equal hours would be open at no hour, and the cron would never fill the site.
  fillWindow: z
    .strictObject({ startHour: hour, endHour: hour })
    .refine((w) => w.startHour !== w.endHour, "a fill window's startHour and endHour must differ (equal, it is open at no hour)")
    .optional(),
  ocas: z.array(ocaSpecBody).min(1).max(MAX_OCAS_PER_SITE),
});
export const resizeBody = z
  .strictObject({ capacityBytes: z.number().int().min(0).max(1e15).optional(), throughputBps: z.number().int().positive().max(1e13).optional() })
  .refine((b) => b.capacityBytes !== undefined || b.throughputBps !== undefined, "give capacityBytes and/or throughputBps");

/** A 32-bit AS number (RFC 6793); 0 and 4294967295 are reserved (RFC 7607, RFC 7300). */
const asn = z.number().int().min(1).max(4_294_967_294);
/** The ASNs one ISP may announce: a national ISP has a handful, a merged group some dozens. */
export const MAX_ASNS_PER_ISP = 256;
export const ispSpecBody = z.strictObject({
  id,
  name: displayName,
  asns: z.array(asn).min(1).max(MAX_ASNS_PER_ISP),
});
export const ispChangeBody = z
  .strictObject({ name: displayName.optional(), asns: z.array(asn).min(1).max(MAX_ASNS_PER_ISP).optional() })
  .refine((b) => b.name !== undefined || b.asns !== undefined, "give name and/or asns");

const MAX_SITES = 500;
/** ISPs a topology may name: every embedded deployment's network, with room to spare. */
const MAX_ISPS = 2_000;
/**
 * The most a stored topology may take, as JSON: D1 keeps a value of at most 2,000,000 bytes, and a
 * topology past it (500 sites of 32 OCAs with long ids) failed to store with a bare 500.
 */
export const MAX_TOPOLOGY_BYTES = 1_900_000;

/** Everything a topology must hold together; a 400 names the first thing that does not. */
export function validate(t: Topology): void {
  const bad = (msg: string) => new ApiError(400, "invalid_topology", msg);
  if (t.sites.length > MAX_SITES) throw bad(`at most ${MAX_SITES} sites`);
  if (t.isps.length > MAX_ISPS) throw bad(`at most ${MAX_ISPS} ISPs`);
  // A client's ASN names its ISP (steering's first choice, the session's home site): one ASN, one ISP.
  const ispIds = new Set<string>();
  const asnOwner = new Map<number, string>();
  for (const i of t.isps) {
    if (ispIds.has(i.id)) throw new ApiError(409, "duplicate_id", `ISP ${i.id} exists`);
    ispIds.add(i.id);
    for (const a of i.asns) {
      const owner = asnOwner.get(a);
      if (owner !== undefined && owner !== i.id) throw new ApiError(409, "duplicate_asn", `AS${a} is ISP ${owner}'s; an ASN names one ISP`);
      asnOwner.set(a, i.id);
    }
  }
  const siteIds = new Set<string>();
  const ocaIds = new Set<string>([t.origin.id]);
  for (const s of t.sites) {
    if (siteIds.has(s.id)) throw new ApiError(409, "duplicate_id", `site ${s.id} exists`);
    // "origin/origin" is every session's last pathway: a site by that name would take origin's reports.
    if (s.id === t.origin.id) throw new ApiError(409, "duplicate_id", `${s.id} is the origin's id`);
    siteIds.add(s.id);
    for (const o of s.ocas) {
      if (ocaIds.has(o.id)) throw new ApiError(409, "duplicate_id", `OCA ${o.id} exists (OCA ids are pathway ids: unique across sites)`);
      ocaIds.add(o.id);
    }
    if (!t.regions.some((r) => r.id === s.region)) throw bad(`site ${s.id}: unknown region ${s.region}`);
    try {
      new Intl.DateTimeFormat("en", { timeZone: s.timeZone });
    } catch {
      throw bad(`site ${s.id}: unknown time zone ${s.timeZone}`);
    }
    if (s.tier === "embedded") {
      if (!s.isp || !t.isps.some((i) => i.id === s.isp)) throw bad(`embedded site ${s.id} needs a known isp`);
      const parent = t.sites.find((p) => p.id === s.parent);
      if (parent?.tier !== "ixp") throw bad(`embedded site ${s.id} needs a parent IXP site`);
    } else if (s.isp || s.parent) throw bad(`IXP site ${s.id} has no isp or parent`);
    if (s.ocas.length === 0) throw bad(`site ${s.id} has no OCA`);
  }
  const bytes = new TextEncoder().encode(JSON.stringify(t)).length;
  if (bytes > MAX_TOPOLOGY_BYTES) throw bad(`the topology would take ${bytes} bytes, over the ${MAX_TOPOLOGY_BYTES} it may (shorter ids, or fewer OCAs)`);
}

/**
 * Times a change is read, made and stored before it gives up to others storing first: two operators at
 * the same moment cost one more round each; past this the topology is changing faster than it can be.
 */
const CHANGE_ATTEMPTS = 5;

/**
 * Read, change, validate and store the topology with optimistic concurrency. When another change came
 * first, this one is made again on the version that change stored (`fn` runs on each fresh copy and
 * checks what it needs there: an id taken meanwhile is then a 409 naming it), so two operators' changes
 * at once both land, one version each; 409 `topology_conflict` only after CHANGE_ATTEMPTS.
 */
async function change(env: Env, fn: (t: Topology) => void): Promise<{ version: number; topology: Topology }> {
  for (let attempt = 1; attempt <= CHANGE_ATTEMPTS; attempt++) {
    const { version, doc } = await storedTopology(env.DB);
    fn(doc);
    validate(doc);
    if (await storeTopology(env.DB, doc, version)) return { version: version + 1, topology: doc };
  }
  throw new ApiError(409, "topology_conflict", "the topology kept changing meanwhile; retry");
}

/**
 * Refuses OCA ids joining `siteId` that were retired from another site: the steering view keys an OCA's
 * listings and status by its id alone, so the old site's clean-up (a batch of rows per alarm run, then
 * the view's rows of that id) would delete the new OCA's listings, and its drained status would stand
 * for the new OCA meanwhile. Retired from the same site, an id comes back (see letGoOfRetiredRows).
 */
function refuseRetiredElsewhere(t: Topology, siteId: string, ocaIds: string[]): void {
  for (const r of t.retired ?? []) {
    if (r.siteId !== siteId && ocaIds.includes(r.ocaId)) {
      throw new ApiError(409, "duplicate_id", `OCA ${r.ocaId} was retired from site ${r.siteId}; an OCA joining another site takes a new id`);
    }
  }
}

const siteOf = (t: Topology, siteId: string): SiteSpec => {
  const s = t.sites.find((x) => x.id === siteId);
  if (!s) throw new ApiError(404, "unknown_site", `no site ${siteId}`);
  return s;
};

/** Adds a site with its OCAs (no redeploy): both planes run on it within seconds; fill it like any other. */
topologyRoutes.post("/topology/sites", zValidator("json", siteSpecBody, validationHook), async (c) => {
  const spec = c.req.valid("json") as SiteSpec;
  const r = await change(c.env, (t) => {
    refuseRetiredElsewhere(
      t,
      spec.id,
      spec.ocas.map((o) => o.id),
    );
    t.sites.push(spec);
  });
  return c.json({ version: r.version, site: spec }, 201);
});

/**
 * Adds an ISP (an embedded deployment's network) with the ASNs its clients come from (no redeploy): its
 * embedded sites may then be added, and its clients are steered to them first within 2 × CATALOGUE_TTL_S.
 */
topologyRoutes.post("/topology/isps", zValidator("json", ispSpecBody, validationHook), async (c) => {
  const isp = c.req.valid("json");
  const spec = { id: isp.id, name: isp.name, asns: [...new Set(isp.asns)] };
  const r = await change(c.env, (t) => {
    t.isps.push(spec);
  });
  return c.json({ version: r.version, isp: spec }, 201);
});

/** Changes an ISP's name and/or ASNs (a network that announces a new ASN, or gave one up): the list given replaces the old. */
topologyRoutes.post("/topology/isps/:ispId", params(ispParam), zValidator("json", ispChangeBody, validationHook), async (c) => {
  const { ispId } = c.req.param();
  const body = c.req.valid("json");
  let updated: Topology["isps"][number] | undefined;
  const r = await change(c.env, (t) => {
    const isp = t.isps.find((i) => i.id === ispId);
    if (!isp) throw new ApiError(404, "unknown_isp", `no ISP ${ispId}`);
    if (body.name !== undefined) isp.name = body.name;
    if (body.asns !== undefined) isp.asns = [...new Set(body.asns)];
    updated = isp;
  });
  return c.json({ version: r.version, isp: updated });
});

/**
 * Until when a retired OCA's copies are kept: a session granted just before the retire, or by an isolate
 * that steered to the OCA until it saw the change, may ask for them for as long as it lives.
 */
function copiesKeptUntil(env: Pick<Env, "SESSION_TTL_S" | "CATALOGUE_TTL_S">, retiredAt: number): number {
  return retiredAt + sessionTtlS(env) * 1000 + viewLagMs(env);
}

/**
 * Before an OCA id retired from this site joins it again: the site's object lets go of the rows the
 * retired OCA left (it hides them, and deletes them a batch a call and in its alarm; its old copies go
 * at their time), so the OCA comes back empty. 409 `oca_retiring` while rows are left (retry), 503 when
 * the object cannot be asked. An object on the code before (a rollout) is not asked, as before.
 */
async function letGoOfRetiredRows(env: Env, siteId: string, ocaId: string): Promise<void> {
  const { version, doc } = await storedTopology(env.DB);
  const site = doc.sites.find((s) => s.id === siteId);
  // No such site, or the OCA is in it: the change answers (404, 409).
  if (!site || site.ocas.some((o) => o.id === ocaId)) return;
  let retiredAt: number | undefined;
  for (const r of doc.retired ?? []) {
    const at = Date.parse(r.at);
    if (r.siteId === siteId && r.ocaId === ocaId && Number.isSafeInteger(at)) retiredAt = Math.max(at, retiredAt ?? at);
  }
  if (retiredAt === undefined) return;
  let answer: { ok: boolean; rowsLeft: boolean };
  try {
    answer = await siteStub(env, siteId).retireOca(ocaId, { retiredAt, leftAtVersion: version, keepCopiesUntil: copiesKeptUntil(env, retiredAt) });
  } catch (err) {
    if (isMissingMethod(err, "retireOca")) return;
    console.error("re-add: the site's object could not be asked", err);
    throw new ApiError(503, "site_unreachable", `site ${siteId}'s object must let go of what ${ocaId} left when it was retired; retry`, undefined, {
      "Retry-After": "5",
    });
  }
  if (answer.rowsLeft) {
    throw new ApiError(409, "oca_retiring", `site ${siteId} is still deleting the rows ${ocaId} left when it was retired; retry in a few seconds`, undefined, {
      "Retry-After": "2",
    });
  }
}

/** Adds an OCA to a site; an id retired from it before comes back empty (see letGoOfRetiredRows). */
topologyRoutes.post("/topology/sites/:siteId/ocas", params(siteParam), zValidator("json", ocaSpecBody, validationHook), async (c) => {
  const oca = c.req.valid("json");
  await letGoOfRetiredRows(c.env, c.req.param("siteId"), oca.id);
  const r = await change(c.env, (t) => {
    const s = siteOf(t, c.req.param("siteId"));
    // Checked here, as the site grows, not in validate(): a site stored with more (before the bound) still changes.
    if (s.ocas.length >= MAX_OCAS_PER_SITE) throw new ApiError(400, "invalid_topology", `site ${s.id}: at most ${MAX_OCAS_PER_SITE} OCAs`);
    refuseRetiredElsewhere(t, s.id, [oca.id]);
    s.ocas.push(oca);
  });
  return c.json({ version: r.version, siteId: c.req.param("siteId"), oca }, 201);
});

/** Resizes an OCA: its capacity and/or throughput as the topology states them. */
topologyRoutes.post("/topology/sites/:siteId/ocas/:ocaId", params(siteOcaParam), zValidator("json", resizeBody, validationHook), async (c) => {
  const { siteId, ocaId } = c.req.param();
  const body = c.req.valid("json");
  let updated: unknown;
  const r = await change(c.env, (t) => {
    const o = siteOf(t, siteId).ocas.find((x) => x.id === ocaId);
    if (!o) throw new ApiError(404, "unknown_oca", `site ${siteId} has no OCA ${ocaId}`);
    if (body.capacityBytes !== undefined) o.capacityBytes = body.capacityBytes;
    if (body.throughputBps !== undefined) o.throughputBps = body.throughputBps;
    updated = o;
  });
  return c.json({ version: r.version, siteId, oca: updated });
});

/** A retire that already took the OCA out of the site: what an operator's retry (or a second retire at once) finds. */
class AlreadyRetired extends Error {
  constructor(readonly at: string) {
    super("already retired");
  }
}

/** When the OCA was last retired from this site, if it was and has not joined it again. */
function lastRetiredAt(t: Topology, s: SiteSpec, ocaId: string): string | undefined {
  if (s.ocas.some((o) => o.id === ocaId)) return undefined;
  let last: { at: string; ms: number } | undefined;
  for (const r of t.retired ?? []) {
    const ms = Date.parse(r.at);
    if (r.siteId === s.id && r.ocaId === ocaId && Number.isFinite(ms) && (last === undefined || ms >= last.ms)) last = { at: r.at, ms };
  }
  return last?.at;
}

/**
 * Takes an OCA out of a site's spec: 404 if the site has no such OCA, 409 if it is the site's last;
 * AlreadyRetired if a retire took it out before (a retry is answered as that retire).
 */
function removeOca(t: Topology, siteId: string, ocaId: string): void {
  const s = siteOf(t, siteId);
  const retiredAt = lastRetiredAt(t, s, ocaId);
  if (retiredAt !== undefined) throw new AlreadyRetired(retiredAt);
  if (!s.ocas.some((o) => o.id === ocaId)) throw new ApiError(404, "unknown_oca", `site ${siteId} has no OCA ${ocaId}`);
  if (s.ocas.length === 1) throw new ApiError(409, "last_oca", `${ocaId} is the last OCA of ${siteId}; a site keeps at least one`);
  s.ocas = s.ocas.filter((o) => o.id !== ocaId);
}

/**
 * Puts an OCA's health back as it was before a drain: an operator's drain stands, an operator's fail is
 * set again, else the site's automatic judgement takes over again as it stood (a failed or degraded
 * OCA stays so; an operator's restore would reset it to healthy).
 */
async function undoDrain(stub: ReturnType<typeof siteStub>, ocaId: string, before: { health: OcaHealth; healthBy?: "auto" | "operator" } | undefined) {
  if (before?.healthBy === "operator" && before.health === "drained") return;
  if (before?.healthBy === "operator" && before.health === "failed") await stub.setHealth(ocaId, "failed");
  else await stub.clearOperatorHealth(ocaId);
}

/**
 * Retires an OCA: drained at once (new sessions skip it, sessions on it finish), then out of the
 * topology, so it is never steered to or planned again; the next plan hands its titles to its peers.
 * The drain comes first because once the change is stored the site object no longer knows the OCA; a
 * change refused after it (another retire took the site's other OCAs meanwhile, a conflict) undoes it.
 * Then the site's object is told: it deletes the OCA's rows at once and its copies once no session
 * granted before can ask for them (see copiesKeptUntil); told or not, it finds the retire by itself.
 * 503 `site_unreachable` (nothing changed; retry) when the site's object cannot drain the OCA. Asked
 * again once it is done (a retry after a timeout, or two at once), it answers as that retire did, with
 * `alreadyRetired`, and tells the site's object again; nothing is drained, undone or stored anew.
 */
topologyRoutes.post("/topology/sites/:siteId/ocas/:ocaId/retire", params(siteOcaParam), async (c) => {
  const { siteId, ocaId } = c.req.param();
  const stub = siteStub(c.env, siteId);
  const done = async (retired: AlreadyRetired) => {
    const { version } = await storedTopology(c.env.DB);
    const retiredAt = Date.parse(retired.at);
    await stub
      .retireOca(ocaId, { retiredAt, leftAtVersion: version, keepCopiesUntil: copiesKeptUntil(c.env, retiredAt) })
      .catch((err) => console.error("retire again: the site's object was not told (it finds the retire at its next look)", err));
    return c.json({ version, siteId, ocaId, retiredAt: retired.at, alreadyRetired: true });
  };
  // Refused early without touching the site; checked again inside the change, which is what counts.
  try {
    removeOca((await storedTopology(c.env.DB)).doc, siteId, ocaId);
  } catch (err) {
    if (err instanceof AlreadyRetired) return done(err);
    throw err;
  }
  let before: Parameters<typeof undoDrain>[2];
  try {
    before = (await stub.describe({ titles: 0, misses: 0 })).ocas.find((o) => o.ocaId === ocaId)?.load;
    await stub.setHealth(ocaId, "drained");
  } catch (err) {
    // Nothing is changed in the topology: the OCA is retired only once its site's object has drained it.
    console.error("retire: the site's object could not drain the OCA", err);
    throw new ApiError(503, "site_unreachable", `site ${siteId}'s object must drain ${ocaId} before it is retired; retry`, undefined, {
      "Retry-After": "5",
    });
  }
  const at = new Date().toISOString();
  let r: Awaited<ReturnType<typeof change>>;
  try {
    r = await change(c.env, (t) => {
      removeOca(t, siteId, ocaId);
      t.retired = [...(t.retired ?? []), { siteId, ocaId, at }].slice(-1000);
    });
  } catch (err) {
    // Another retire of this OCA stored first: its drain stands, and this one answers as it did.
    if (err instanceof AlreadyRetired) return done(err);
    // The change's own error is the answer; an undo that fails too is only logged.
    await undoDrain(stub, ocaId, before).catch((e) => console.error("retire: undoing the drain failed", e));
    throw err;
  }
  const retiredAt = Date.parse(at);
  await stub
    .retireOca(ocaId, { retiredAt, leftAtVersion: r.version, keepCopiesUntil: copiesKeptUntil(c.env, retiredAt) })
    .catch((err) => console.error("retire: the site's object was not told (it finds the retire at its next look)", err));
  return c.json({ version: r.version, siteId, ocaId, retiredAt: at, alreadyRetired: false });
});
