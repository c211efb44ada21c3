import { describe, expect, it } from "vitest";
import { addressKey, clientIp } from "../workers/control/limits";
import { call } from "./fixtures";

/**
 * The per-IP limits (plays, steering polls, QoE events, dev tokens, failed admin tokens) count an IPv6
 * client per /64: it holds a whole /64 (every VPS gets one), so counted per address a guesser would have
 * 2^64 addresses of 20 failed admin tokens a minute, and a flood as many buckets. An IPv4-mapped address
 * counts as its IPv4 address.
 */

describe("an IPv6 client's requests under the per-IP limits", { timeout: 90_000 }, () => {
  it("count under the address's /64, whatever its spelling", () => {
    expect(addressKey("203.0.113.7")).toBe("203.0.113.7");
    expect(addressKey("2001:db8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:0DB8:0001:0002:aaaa:bbbb:cccc:dddd")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressKey("2001:db8:1::")).toBe("2001:db8:1:0::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(addressKey("2001:db8:1:2:3:4:192.0.2.1")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8:1:3::1")).not.toBe(addressKey("2001:db8:1:2::1"));
    // What every limit reads: the header, checked, as its key; no header (local), no per-IP limit.
    const from = (ip?: string) => clientIp(new Request("https://cdn.example/v1/play", { headers: ip ? { "CF-Connecting-IP": ip } : {} }));
    expect(from("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(from("198.51.100.4")).toBe("198.51.100.4");
    expect(from("not an address")).toBeNull();
    expect(from()).toBeNull();
  });

  it("failing the admin token are refused past 20 a minute across the addresses of one /64, and another /64 is not", async () => {
    const admin = (ip: string, token: string) => call("/admin/topology", { headers: { Authorization: `Bearer ${token}`, "CF-Connecting-IP": ip } });
    // Windows are aligned to the wall clock's minute: start in the first half of one.
    const into = Date.now() % 60_000;
    if (into > 30_000) await new Promise((r) => setTimeout(r, 60_000 - into + 50));
    let refused: Response | undefined;
    let allowed = 0;
    for (let i = 1; i <= 40 && !refused; i++) {
      const res = await admin(`2001:db8:77:1::${i.toString(16)}`, "guess-0123456789abcdef");
      if (res.status === 429) refused = res;
      else {
        expect(res.status).toBe(401);
        allowed++;
        await res.arrayBuffer();
      }
    }
    expect(allowed).toBe(20);
    expect(refused?.status).toBe(429);
    expect(((await refused!.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    // Another address of that /64 is refused too, its right token as well; another /64 is not.
    expect((await admin("2001:db8:77:1:ffff::9", "test-admin-token")).status).toBe(429);
    expect((await admin("2001:db8:77:2::1", "test-admin-token")).status).toBe(200);
  });
});
