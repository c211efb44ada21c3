import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { signUrlToken } from "../workers/shared/url-token";
import { WITHDRAWN_KEY } from "../shared/file-keys";
import { parseWithdrawn } from "../shared/withdrawn";
import { ADMIN, call, fill, GEO, memberToken, patternBytes, pressPlay, publishTitle, tierKey, type FixtureTitle, type PlayResponse } from "./fixtures";

/**
 * Title versions: a title published again with one changed segment. Sessions keep the bytes they
 * started with until their tokens expire, new plays get the new bytes only from OCAs that hold all
 * of them, an OCA holds both meanwhile, and a takedown leaves steering at once and OCAs on their
 * next reconcile. Everything is real: the admin API, local D1 and R2, the site objects.
 */

const TITLE = "ver-title";
const SEG = "video/avc-480p/seg-00001.m4s";
const SITE = "lumen-nyc";
const OCA = "lumen-nyc-1";
const DEVICE = { codecs: ["avc1", "mp4a"], maxHeight: 2160 };
const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));

let v1: FixtureTitle;
let v2: FixtureTitle;
let oldSession: PlayResponse;

async function play(member: string): Promise<PlayResponse> {
  const res = await pressPlay(await memberToken("premium", member), { titleId: TITLE, device: DEVICE }, GEO.lumenNyc);
  expect(res.status).toBe(200);
  return (await res.json()) as PlayResponse;
}

/** Every file of a version through one session's URL on its first OCA: the bytes and where they came from. */
async function fetchAll(p: PlayResponse, t: FixtureTitle, ocaUrl = p.ocas[0].url) {
  const out: Array<{ path: string; same: boolean; source: string | null }> = [];
  for (const [path, bytes] of Object.entries(t.files)) {
    if (path === "master.m3u8" || path === "manifest.mpd") continue; // filtered per cap: compared elsewhere
    const res = await call(`${ocaUrl}${path}`);
    expect(res.status, path).toBe(200);
    out.push({ path, same: Buffer.from(await res.arrayBuffer()).equals(Buffer.from(bytes)), source: res.headers.get("X-OCA-Source") });
  }
  return out;
}

async function listedVersions(ocaId: string): Promise<number[]> {
  const r = await env.DB.prepare(`SELECT version FROM oca_titles WHERE oca_id = ? AND title_id = ? ORDER BY version`)
    .bind(ocaId, TITLE)
    .all<{ version: number }>();
  return r.results.map((x) => x.version);
}

beforeAll(async () => {
  v1 = await publishTitle(TITLE);
  expect((await fill([{ siteId: SITE, ocaId: OCA, titleIds: [TITLE] }])).status).toBe(200);
  oldSession = await play("ver-old");
});

describe("a title re-published with one changed segment", () => {
  it("creates a new version; re-registering the same contents keeps it", async () => {
    expect(oldSession.version).toBe(v1.version);
    expect(oldSession.ocas[0]).toMatchObject({ siteId: SITE, ocaId: OCA });
    const same = await publishTitle(TITLE);
    expect(same.version).toBe(v1.version);
    v2 = await publishTitle(TITLE, { change: { [SEG]: patternBytes(64 * 1024, 999) } });
    expect(v2.version).toBe(v1.version + 1);
    expect(v2.sha[SEG]).not.toBe(v1.sha[SEG]);
    const described = (await (await call(`/admin/titles/${TITLE}`, { headers: ADMIN })).json()) as {
      title: { version: number };
      versions: Array<{ version: number; superseded_at: number | null; retain_until: number | null }>;
    };
    expect(described.title.version).toBe(v2.version);
    const old = described.versions.find((v) => v.version === v1.version)!;
    expect(old.superseded_at).toBeGreaterThan(0);
    // Kept for as long as a session started just before the re-publish may live (SESSION_TTL_S).
    expect(old.retain_until! - old.superseded_at!).toBe(Number(env.SESSION_TTL_S) * 1000);
    // Origin keeps both contents of the changed path, each under its own key.
    const listing = (await (await call(`/admin/origin/${TITLE}`, { headers: ADMIN })).json()) as { files: Array<{ path: string; sha256: string }> };
    expect(
      listing.files
        .filter((f) => f.path === SEG)
        .map((f) => f.sha256)
        .sort(),
    ).toEqual([v1.sha[SEG], v2.sha[SEG]].sort());
  });

  it("lets a session started before finish on the old bytes, from its OCA, without an error", async () => {
    const got = await fetchAll(oldSession, v1);
    expect(got.filter((f) => !f.same)).toEqual([]);
    expect(got.every((f) => f.source === "local")).toBe(true);
    // Its steering still offers the OCA that holds its version.
    const steering = (await (await call(oldSession.steering.server)).json()) as { "PATHWAY-PRIORITY": string[] };
    expect(steering["PATHWAY-PRIORITY"][0]).toBe(OCA);
  });

  it("steers a new play to an OCA only once it holds all of the new version", async () => {
    const before = await play("ver-new-1");
    expect(before.version).toBe(v2.version);
    // The OCA holds version 1 only: it is no candidate for version 2.
    expect(before.ocas.map((o) => o.ocaId)).not.toContain(OCA);
    // Filling it copies the one changed file; the rest of version 2 is already there.
    const res = (await (await fill([{ siteId: SITE, ocaId: OCA, titleIds: [TITLE] }])).json()) as { results: Array<{ copied: number; skipped: number }> };
    expect(res.results[0]).toMatchObject({ copied: 1, skipped: Object.keys(v2.files).length - 1 });
    expect(await listedVersions(OCA)).toEqual([v1.version, v2.version]);
    const after = await play("ver-new-2");
    expect(after.ocas[0]).toMatchObject({ siteId: SITE, ocaId: OCA });
    const got = await fetchAll(after, v2);
    expect(got.filter((f) => !f.same)).toEqual([]);
    expect(got.find((f) => f.path === SEG)).toMatchObject({ same: true, source: "local" });
  });

  it("never serves a mix: the same OCA gives each session its own version's bytes of the changed path", async () => {
    const fresh = await play("ver-new-3");
    const [a, b] = await Promise.all([call(`${oldSession.ocas[0].url}${SEG}`), call(`${fresh.ocas[0].url}${SEG}`)]);
    expect(Buffer.from(await a.arrayBuffer()).equals(Buffer.from(v1.files[SEG]))).toBe(true);
    expect(Buffer.from(await b.arrayBuffer()).equals(Buffer.from(v2.files[SEG]))).toBe(true);
    expect(a.headers.get("ETag")).not.toBe(b.headers.get("ETag"));
    // Unchanged files are one object shared by both versions: same key, same validator.
    const [c, d] = await Promise.all([call(`${oldSession.ocas[0].url}subs/sub-en.vtt`), call(`${fresh.ocas[0].url}subs/sub-en.vtt`)]);
    expect(c.headers.get("ETag")).toBe(d.headers.get("ETag"));
  });

  it("keeps the old version's files on the OCA while a session may ask for them, and deletes them after", async () => {
    expect(await site().reconcile()).toMatchObject({ pruned: 0 });
    expect(await env.TIER_NA.head(tierKey(SITE, OCA, v1, SEG))).not.toBeNull();
    // The last token of version 1 has expired (its retention is moved into the past).
    await env.DB.prepare(`UPDATE title_versions SET retain_until = ? WHERE title_id = ? AND version = ?`)
      .bind(Date.now() - 1, TITLE, v1.version)
      .run();
    expect(await site().reconcile()).toMatchObject({ pruned: 1, unpublished: 1 });
    expect(await env.TIER_NA.head(tierKey(SITE, OCA, v1, SEG))).toBeNull();
    expect(await env.TIER_NA.head(tierKey(SITE, OCA, v2, SEG))).not.toBeNull();
    expect(await listedVersions(OCA)).toEqual([v2.version]);
    // The OCA's accounting matches its bucket: one copy of each file of version 2.
    const state = (await (await call(`/admin/sites/${SITE}`, { headers: ADMIN })).json()) as {
      ocas: Array<{ ocaId: string; usedBytes: number; titles: Array<{ titleId: string; files: number; complete: boolean }> }>;
    };
    const oca = state.ocas.find((o) => o.ocaId === OCA)!;
    expect(oca.titles.find((t) => t.titleId === TITLE)).toMatchObject({ files: Object.keys(v2.files).length, complete: true });
    const objects = (await env.TIER_NA.list({ prefix: `${SITE}/${OCA}/${TITLE}/` })).objects;
    expect(objects.length).toBe(Object.keys(v2.files).length);
  });
});

describe("a title taken down", () => {
  it("refuses new plays, leaves steering at once, and leaves the OCAs on their next reconcile", async () => {
    const member = await memberToken("premium", "ver-down-browse");
    const browse = async () =>
      (
        (await (await call("/v1/titles", { geo: GEO.lumenNyc, headers: { Authorization: `Bearer ${member}` } })).json()) as { titles: Array<{ id: string }> }
      ).titles.map((t) => t.id);
    expect(await browse()).toContain(TITLE);
    const session = await play("ver-down-1");
    expect(session.ocas[0].ocaId).toBe(OCA);
    const origin = session.ocas.at(-1)!;
    expect(origin.siteId).toBe("origin");
    // The running session's segment, from its OCA (now in the colo cache too) and from origin.
    const segment = (url: string) => call(`${url}${SEG}`);
    expect((await segment(session.ocas[0].url)).status).toBe(200);
    expect((await segment(origin.url)).status).toBe(200);
    const res = await call(`/admin/titles/${TITLE}`, { method: "DELETE", headers: ADMIN });
    expect(await res.json()).toMatchObject({ titleId: TITLE, takenDown: true });
    // Its segments are refused at once (this pool reads views afresh; deployed, within 2 × CATALOGUE_TTL_S),
    // wherever the bytes still are: the OCA's copy, the colo cache, origin.
    for (const url of [session.ocas[0].url, origin.url]) {
      const gone = await segment(url);
      expect(gone.status, url).toBe(410);
      expect(((await gone.json()) as { error: { code: string } }).error.code).toBe("taken_down");
    }
    const listed = parseWithdrawn(await (await env.ORIGIN.get(WITHDRAWN_KEY))!.text());
    expect([...listed.titles.keys()]).toContain(TITLE);
    const refused = await pressPlay(await memberToken("premium", "ver-down-2"), { titleId: TITLE, device: DEVICE }, GEO.lumenNyc);
    expect(refused.status).toBe(410);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("taken_down");
    expect(await listedVersions(OCA)).toEqual([]);
    // Its steering server answers 410 Gone, which tells a player to stop asking (HLS Content Steering).
    const steering = await call(session.steering.server);
    expect(steering.status).toBe(410);
    expect(((await steering.json()) as { error: { code: string } }).error.code).toBe("taken_down");
    // Not in the browse list any more.
    expect(await browse()).not.toContain(TITLE);
    // The site's next reconcile deletes every file and does not list it again.
    await site().reconcile();
    expect((await env.TIER_NA.list({ prefix: `${SITE}/${OCA}/${TITLE}/` })).objects).toEqual([]);
    expect(await listedVersions(OCA)).toEqual([]);
    // Publishing it again restores it (same contents: same version) for new plays; the session the
    // takedown stopped stays stopped (test/takedown-outlives-a-republish.test.ts).
    const back = await publishTitle(TITLE, { change: { [SEG]: v2.files[SEG] } });
    expect(back.version).toBe(v2.version);
    const again = await pressPlay(await memberToken("premium", "ver-down-3"), { titleId: TITLE, device: DEVICE }, GEO.lumenNyc);
    expect(again.status).toBe(200);
    expect([...parseWithdrawn(await (await env.ORIGIN.get(WITHDRAWN_KEY))!.text()).titles.keys()]).not.toContain(TITLE);
    expect((await segment(((await again.json()) as PlayResponse).ocas.at(-1)!.url)).status).toBe(200);
    expect((await segment(origin.url)).status).toBe(410);
  });
});

describe("a title whose last licence has ended", () => {
  it("is taken down like an unpublished one: steering polls get 410 and the OCAs delete it on their next reconcile", async () => {
    const LIC = "ver-licence";
    const year = "2020-01-01T00:00:00.000Z";
    const t = await publishTitle(LIC, { licences: [{ country: "US", availableFrom: year }] });
    expect((await fill([{ siteId: SITE, ocaId: OCA, titleIds: [LIC] }])).status).toBe(200);
    const res = await pressPlay(await memberToken("premium", "ver-lic-1"), { titleId: LIC, device: DEVICE }, GEO.lumenNyc);
    const session = (await res.json()) as PlayResponse;
    expect(session.ocas[0].ocaId).toBe(OCA);
    // The same contents with the licence ended a moment ago: metadata only, same version.
    const ended = await publishTitle(LIC, { licences: [{ country: "US", availableFrom: year, availableUntil: new Date(Date.now() - 1000).toISOString() }] });
    expect(ended.version).toBe(t.version);
    expect((await call(session.steering.server)).status).toBe(410);
    // The running session's segments stop too, from its OCA and from origin.
    for (const url of [session.ocas[0].url, session.ocas.at(-1)!.url]) {
      const gone = await call(`${url}${SEG}`);
      expect(gone.status, url).toBe(410);
      expect(((await gone.json()) as { error: { code: string } }).error.code).toBe("taken_down");
    }
    await site().reconcile();
    expect((await env.TIER_NA.list({ prefix: `${SITE}/${OCA}/${LIC}/` })).objects).toEqual([]);
    const rows = await env.DB.prepare(`SELECT COUNT(*) AS n FROM oca_titles WHERE title_id = ?`).bind(LIC).first<{ n: number }>();
    expect(rows!.n).toBe(0);
  });
});

describe("a title whose last licence ends while it plays", () => {
  it("is served until the licence's end and refused from then on, with no write at that moment", async () => {
    const SOON = "ver-licence-soon";
    const year = "2020-01-01T00:00:00.000Z";
    const until = new Date(Date.now() + 3000).toISOString();
    await publishTitle(SOON, { licences: [{ country: "US", availableFrom: year, availableUntil: until }] });
    const res = await pressPlay(await memberToken("premium", "ver-soon-1"), { titleId: SOON, device: DEVICE }, GEO.lumenNyc);
    const session = (await res.json()) as PlayResponse;
    expect(res.status).toBe(200);
    const origin = session.ocas.at(-1)!.url;
    expect((await call(`${origin}${SEG}`)).status).toBe(200);
    // Origin's list already names it, with the licence's end.
    expect(parseWithdrawn(await (await env.ORIGIN.get(WITHDRAWN_KEY))!.text()).titles.get(SOON)).toBe(Date.parse(until));
    await new Promise((r) => setTimeout(r, Date.parse(until) - Date.now() + 50));
    const gone = await call(`${origin}${SEG}`);
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe("taken_down");
  });
});

describe("a title whose licence ends in one country while it plays on elsewhere", () => {
  const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
  const year = "2020-01-01T00:00:00.000Z";
  const playIn = async (titleId: string, member: string, geo: string) => pressPlay(await memberToken("premium", member), { titleId, device: DEVICE }, geo);

  it("stops that country's running sessions at the licence's end, from steering and every OCA, and no others", async () => {
    const T = "ver-country-ends";
    const until = new Date(Date.now() + 3000).toISOString();
    await publishTitle(T, {
      licences: [
        { country: "US", availableFrom: year },
        { country: "DE", availableFrom: year, availableUntil: until },
      ],
    });
    const de = (await (await playIn(T, "ver-country-de", GEO.rheinnetBerlin)).json()) as PlayResponse;
    const us = (await (await playIn(T, "ver-country-us", GEO.lumenNyc)).json()) as PlayResponse;
    const urls = (p: PlayResponse) => [p.ocas[0].url, p.ocas.at(-1)!.url];
    for (const url of [...urls(de), ...urls(us)]) expect((await call(`${url}${SEG}`)).status, url).toBe(200);
    expect((await call(de.steering.server)).status).toBe(200);
    // Origin's list names the German licence ahead, with its end; the title itself is not listed.
    const listed = parseWithdrawn(await (await env.ORIGIN.get(WITHDRAWN_KEY))!.text());
    expect(listed.licences.get(`${T}/DE`)).toEqual([{ at: Date.parse(until), grantedBefore: Date.parse(until) }]);
    expect(listed.titles.has(T)).toBe(false);
    await new Promise((r) => setTimeout(r, Date.parse(until) - Date.now() + 50));
    for (const url of urls(de)) {
      const gone = await call(`${url}${SEG}`);
      expect(gone.status, url).toBe(410);
      expect(await code(gone)).toBe("not_licensed");
    }
    const steering = await call(de.steering.server);
    expect(steering.status).toBe(410);
    expect(await code(steering)).toBe("not_licensed");
    // The American session plays on, and a new play in Germany is refused.
    for (const url of urls(us)) expect((await call(`${url}${SEG}`)).status, url).toBe(200);
    expect((await call(us.steering.server)).status).toBe(200);
    const again = await playIn(T, "ver-country-de-2", GEO.rheinnetBerlin);
    expect(again.status).toBe(451);
    expect(await code(again)).toBe("not_licensed");
    // Licensed there again from now: a new session plays; the one the ended licence granted stays stopped
    // (the registration replaces the licence row, so the end is kept among the licence's stops).
    await publishTitle(T, {
      licences: [
        { country: "US", availableFrom: year },
        { country: "DE", availableFrom: new Date().toISOString() },
      ],
    });
    const renewed = (await (await playIn(T, "ver-country-de-3", GEO.rheinnetBerlin)).json()) as PlayResponse;
    expect((await call(`${renewed.ocas.at(-1)!.url}${SEG}`)).status).toBe(200);
    for (const url of urls(de)) expect((await call(`${url}${SEG}`)).status, url).toBe(410);
    expect((await call(de.steering.server)).status).toBe(410);
  });

  it("stops them at once when a registration no longer lists the country; a later licence there grants new sessions only", async () => {
    const T = "ver-country-dropped";
    const both = [
      { country: "US", availableFrom: year },
      { country: "DE", availableFrom: year },
    ];
    const t = await publishTitle(T, { licences: both });
    const de = (await (await playIn(T, "ver-dropped-de", GEO.rheinnetBerlin)).json()) as PlayResponse;
    const us = (await (await playIn(T, "ver-dropped-us", GEO.lumenNyc)).json()) as PlayResponse;
    const seg = (p: PlayResponse) => call(`${p.ocas.at(-1)!.url}${SEG}`);
    expect((await seg(de)).status).toBe(200);
    // The same contents licensed in the US only: metadata, same version.
    const before = Date.now();
    expect((await publishTitle(T, { licences: [both[0]] })).version).toBe(t.version);
    const gone = await seg(de);
    expect(gone.status).toBe(410);
    expect(await code(gone)).toBe("not_licensed");
    expect((await call(de.steering.server)).status).toBe(410);
    expect((await seg(us)).status).toBe(200);
    const stops = parseWithdrawn(await (await env.ORIGIN.get(WITHDRAWN_KEY))!.text()).licences.get(`${T}/DE`);
    expect(stops?.length).toBe(1);
    expect(stops![0].at).toBeGreaterThanOrEqual(before);
    expect(stops![0].at).toBeLessThanOrEqual(Date.now());
    // Licensed there again: a new session plays, and steers; the one the dropped licence granted stays
    // stopped. (A session granted within the views' lag of the drop, here 2 s, would stop too: wait it out.)
    await publishTitle(T, { licences: both });
    await new Promise((r) => setTimeout(r, Math.max(0, stops![0].grantedBefore - Date.now() + 10)));
    const again = (await (await playIn(T, "ver-dropped-de-2", GEO.rheinnetBerlin)).json()) as PlayResponse;
    expect((await seg(again)).status).toBe(200);
    expect((await call(again.steering.server)).status).toBe(200);
    expect((await seg(de)).status).toBe(410);
    expect((await call(de.steering.server)).status).toBe(410);
  });

  it("stops them when a registration moves the licence's start later (past now, or to a moment after they began), or its end into the past however far back", async () => {
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();
    const cases: Array<[string, () => { country: string; availableFrom: string; availableUntil?: string }]> = [
      ["ver-country-later", () => ({ country: "DE", availableFrom: at(7 * 86_400_000) })],
      ["ver-country-backdated", () => ({ country: "DE", availableFrom: year, availableUntil: at(-2 * 86_400_000) })],
      ["ver-country-started-later", () => ({ country: "DE", availableFrom: at(0) })],
    ];
    for (const [T, changed] of cases) {
      const us = { country: "US", availableFrom: year };
      await publishTitle(T, { licences: [us, { country: "DE", availableFrom: year }] });
      const de = (await (await playIn(T, `${T}-de`, GEO.rheinnetBerlin)).json()) as PlayResponse;
      expect((await call(`${de.ocas.at(-1)!.url}${SEG}`)).status, T).toBe(200);
      await new Promise((r) => setTimeout(r, 5));
      await publishTitle(T, { licences: [us, changed()] });
      const gone = await call(`${de.ocas.at(-1)!.url}${SEG}`);
      expect(gone.status, T).toBe(410);
      expect(await code(gone), T).toBe("not_licensed");
      expect((await call(de.steering.server)).status, T).toBe(410);
    }
    // The licence that now starts after the first session began still grants a new one, which plays.
    const after = (await (await playIn("ver-country-started-later", "ver-started-later-2", GEO.rheinnetBerlin)).json()) as PlayResponse;
    expect((await call(`${after.ocas.at(-1)!.url}${SEG}`)).status).toBe(200);
  });

  it("stops a session granted from a view that had not yet learned of the stop (up to 2 × CATALOGUE_TTL_S + 2 s after it), and no later one", async () => {
    const T = "ver-country-lag";
    await publishTitle(T, {
      licences: [
        { country: "US", availableFrom: year },
        { country: "DE", availableFrom: year },
      ],
    });
    const de = (await (await playIn(T, "ver-lag-de", GEO.rheinnetBerlin)).json()) as PlayResponse;
    await publishTitle(T, { licences: [{ country: "US", availableFrom: year }] });
    await publishTitle(T, {
      licences: [
        { country: "US", availableFrom: year },
        { country: "DE", availableFrom: year },
      ],
    });
    // The drop's stop reaches 2 s past it (this pool's CATALOGUE_TTL_S is 0); tokens as play would sign them inside and after that.
    const [stop] = parseWithdrawn(await (await env.ORIGIN.get(WITHDRAWN_KEY))!.text()).licences.get(`${T}/DE`)!;
    expect(stop.grantedBefore - stop.at).toBe(2000);
    const ring = new Map(Object.entries(JSON.parse(env.URL_SIGNING_KEYS!) as Record<string, string>));
    const [, , sid, , exp, height, ver, home, , streams] = de.ocas.at(-1)!.url.split("/")[6].split(".");
    const granted = async (issuedAt: number) => {
      const claims = { titleId: T, sessionId: sid, exp: Number(exp), maxHeight: Number(height), version: Number(ver), home, country: "DE", issuedAt, streams };
      const token = await signUrlToken(ring, "k1", claims);
      return call(`${de.ocas.at(-1)!.url.replace(/\/v5\.[^/]+\//, `/${token}/`)}${SEG}`);
    };
    expect((await granted(stop.at + 1000)).status).toBe(410);
    expect((await granted(stop.grantedBefore)).status).toBe(200);
  });
});

/** Registers a one-file title (a master playlist) as given, whatever origin holds. */
const registerOneFile = (titleId: string, file: { bytes: number; sha256: string }) =>
  call(`/admin/titles/${titleId}`, {
    method: "PUT",
    headers: { ...ADMIN, "Content-Type": "application/json" },
    body: JSON.stringify({
      name: "x",
      durationS: 1,
      renditions: [{ id: "v", kind: "video", codec: "avc1.64001e", height: 240, bandwidth: 1 }],
      files: [{ path: "master.m3u8", ...file }],
      licences: [],
    }),
  });

describe("registration", () => {
  it("refuses a file whose checksum agrees with origin's copy only on the 16 hex digits its key carries", async () => {
    const bytes = new TextEncoder().encode("#EXTM3U\n");
    const sha = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
    const up = await call(`/admin/origin/ver-prefix/master.m3u8`, { method: "PUT", headers: { ...ADMIN, "X-Content-SHA256": sha }, body: bytes });
    expect(up.status).toBe(201);
    // Another checksum with the same first 16 digits: the same origin key, not the same file.
    const other = sha.slice(0, 16) + (sha[16] === "0" ? "1" : "0") + sha.slice(17);
    const register = (sha256: string) => registerOneFile("ver-prefix", { bytes: bytes.byteLength, sha256 });
    const refused = await register(other);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { code: string; details: { paths: string[] } } }).error).toMatchObject({
      code: "files_not_in_origin",
      details: { paths: ["master.m3u8"] },
    });
    expect((await register(sha)).status).toBe(200);
  });

  it("refuses files that are not in origin under their content, and a token for a version that has no index", async () => {
    const res = await registerOneFile("ver-missing", { bytes: 10, sha256: "a".repeat(64) });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("files_not_in_origin");
    const upload = await call(`/admin/origin/ver-missing/a.vtt`, { method: "PUT", headers: { ...ADMIN, "Content-Length": "6" }, body: "WEBVTT" });
    expect(upload.status).toBe(400);
    expect(((await upload.json()) as { error: { code: string } }).error.code).toBe("checksum_required");
    // A correctly signed token for a version that was never registered finds no index: 410, nothing served.
    const ring = new Map(Object.entries(JSON.parse(env.URL_SIGNING_KEYS!) as Record<string, string>));
    const p = await play("ver-unknown");
    const token = await signUrlToken(ring, "k1", {
      titleId: TITLE,
      sessionId: p.sessionId,
      exp: Math.floor(Date.now() / 1000) + 60,
      maxHeight: 2160,
      version: 99,
      home: "ixp-nyc",
      country: "US",
      issuedAt: Date.now(),
      streams: env.MEMBER_STREAMS.newUniqueId().toString(),
    });
    const gone = await call(`${p.ocas[0].url.replace(/\/v5\.[^/]+\//, `/${token}/`)}${SEG}`);
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe("version_gone");
  });
});
