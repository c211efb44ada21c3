import { fromCmcdQuery } from "@svta/cml-cmcd";
import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { cmcdData, withCmcd } from "../client/cmcd";
import { PlaySession } from "../client/session";
import { fakePlay } from "./client-fixtures";

// CTA-5004's numbers are non-negative integers: kbps for br, tb and mtp (mtp rounded to 100 kbps), ms
// for d, bl and dl (bl and dl rounded to 100 ms). Values the player got from the network (a rung's
// bitrate, a segment's duration) or worked out (the buffer level) that are not finite, or negative,
// must not reach an OCA's or a CDN's logs as "Infinity", "NaN" or a negative length.

const session = () =>
  new PlaySession({ fetch: async () => new Response(""), sendEvents: async () => {} } as unknown as VcdnClient, fakePlay(["a"]), {
    flushIntervalMs: 3_600_000,
    reprobeIntervalMs: 0,
    pollSteering: false,
  });

describe("the SDK's CMCD values", () => {
  it("leave out a bitrate, top bitrate or duration that is not a finite number > 0", () => {
    const s = session();
    for (const bad of [Number.POSITIVE_INFINITY, Number.NaN, -3_000_000]) {
      const d = cmcdData(s, { object: "video", bitrateBps: bad, topBitrateBps: bad, durationS: bad, bufferS: 4 });
      expect(d.br, String(bad)).toBeUndefined();
      expect(d.d, String(bad)).toBeUndefined();
      expect(d.tb, String(bad)).toBeUndefined();
    }
    s.close();
  });

  it("send an empty buffer as 0 ms and leave out one that is not a number", () => {
    const s = session();
    const negative = cmcdData(s, { object: "video", bufferS: -0.4 });
    expect([negative.bl, negative.dl]).toEqual([[0], 0]);
    const nan = cmcdData(s, { object: "video", bufferS: Number.NaN });
    expect([nan.bl, nan.dl]).toEqual([undefined, undefined]);
    s.close();
  });

  it("keep the spec's units and rounding for values in range", () => {
    const s = session();
    s.throughput.sample(1_000_000, 1_000); // 8 Mbit/s
    const d = cmcdData(s, { object: "video", bitrateBps: 2_499_600, topBitrateBps: 3_000_400, durationS: 4.0004, bufferS: 7.349 });
    expect(d).toMatchObject({ br: [2500], tb: [3000], d: 4000, bl: [7300], dl: 7300, mtp: [8000] });
    const sent = fromCmcdQuery(new URL(withCmcd("https://cdn.test/x.m4s", d, "query").url).searchParams);
    expect(sent).toMatchObject({ br: 2500, tb: 3000, d: 4000, bl: 7300, dl: 7300, mtp: 8000 });
    s.close();
  });
});
