import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { probeMarked } from "../client/probe";
import { dayNumber } from "../fill/day";
import { findSite } from "../workers/shared/topology";
import { call, fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * The SDK's probe of an OCA (a 256 KiB range, `probe=1`) is the OCA's load, not a session's viewing: its
 * bytes count in what the OCA served, but it makes no entry for the session at the site (an entry
 * writes rows; re-probes of three OCAs every 10 s were a third of what sites wrote at a national peak)
 * and adds nothing to the session's served figure.
 */

const TITLE = "probe-title";
const SITE = "lumen-nyc";
const SEG = "video/avc-480p/seg-00001.m4s";
const RANGE = { Range: "bytes=0-65535" };
const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));

let probing: PlayResponse;
let watching: PlayResponse;

async function play(member: string): Promise<PlayResponse> {
  const res = await pressPlay(await memberToken("premium", member), { titleId: TITLE }, GEO.lumenNyc);
  expect(res.status).toBe(200);
  return (await res.json()) as PlayResponse;
}

/** Bytes the site counts as served today (every OCA, every source). */
async function servedToday(): Promise<number> {
  const today = dayNumber(Date.now(), findSite(SITE)!.timeZone);
  return (await site().servedByDay(today, today)).reduce((s, r) => s + r.bytes, 0);
}

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: SITE, ocaId: `${SITE}-1`, titleIds: [TITLE] }])).status).toBe(200);
  probing = await play("probe-member");
  watching = await play("watch-member");
});

describe("a probe of an OCA", () => {
  it("is marked by the SDK with probe=1, whatever the URL already asks", () => {
    expect(probeMarked("https://cdn.test/oca/s/o/t/x/seg.m4s")).toBe("https://cdn.test/oca/s/o/t/x/seg.m4s?probe=1");
    expect(probeMarked("https://cdn.test/x.m4s?CMCD=sid%3D%22a%22")).toBe("https://cdn.test/x.m4s?CMCD=sid%3D%22a%22&probe=1");
  });

  it("counts in what the OCA served but makes no session entry at its site, where a segment's range does", async () => {
    const held = (p: PlayResponse) => p.ocas.find((o) => o.siteId === SITE)!;
    const before = await servedToday();
    const probe = await call(probeMarked(`${held(probing).url}${SEG}`), { headers: RANGE });
    expect(probe.status).toBe(206);
    const probeBytes = (await probe.arrayBuffer()).byteLength;
    const media = await call(`${held(watching).url}${SEG}`, { headers: RANGE });
    expect(media.status).toBe(206);
    const mediaBytes = (await media.arrayBuffer()).byteLength;
    expect(probeBytes).toBe(65_536);
    expect(mediaBytes).toBe(65_536);

    // Both sessions' plays and the bytes ride the isolate's next syncs with the site.
    type Row = { session_id: string; served: number };
    let views: Row[] = [];
    let entries: string[] = [];
    for (let i = 0; i < 200; i++) {
      await runInDurableObject(site(), (_o, state) => {
        const sql = state.storage.sql;
        views = sql.exec<Row>(`SELECT session_id, served FROM session_views WHERE session_id IN (?, ?)`, probing.sessionId, watching.sessionId).toArray();
        entries = sql
          .exec<{ session_id: string }>(`SELECT session_id FROM oca_sessions`)
          .toArray()
          .map((r) => r.session_id);
      });
      if (views.length === 2 && entries.includes(watching.sessionId) && (await servedToday()) >= before + probeBytes + mediaBytes) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(entries).toContain(watching.sessionId);
    expect(entries).not.toContain(probing.sessionId);
    const served = Object.fromEntries(views.map((v) => [v.session_id, v.served]));
    expect(served[watching.sessionId]).toBe(mediaBytes);
    expect(served[probing.sessionId]).toBe(0);
    // The OCA's own figure counts both.
    expect((await servedToday()) - before).toBe(probeBytes + mediaBytes);
  });
});
