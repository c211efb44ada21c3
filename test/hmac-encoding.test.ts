import { describe, expect, it } from "vitest";
import { b64url, fromB64url, jsonOfBytes, macBytes } from "../workers/shared/hmac";

describe("base64url of the signed formats", () => {
  it("round-trips every byte value, and inputs longer than one encoding chunk", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(b64url(all)).toBe(
      btoa(String.fromCharCode(...all))
        .replace(/\+/g, "-")
        .replace(/\//g, "_")
        .replace(/=+$/, ""),
    );
    expect(fromB64url(b64url(all))).toEqual(all);
    const long = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 256);
    expect(fromB64url(b64url(long))).toEqual(long);
    expect(b64url(new Uint8Array(0))).toBe("");
  });

  it("refuses what is not unpadded base64url", () => {
    for (const bad of ["a", "ab+c", "ab/c", "abc=", "a b", "é"]) expect(fromB64url(bad)).toBeNull();
  });

  it("takes a MAC in its one canonical spelling only", () => {
    const mac = b64url(Uint8Array.from({ length: 32 }, (_, i) => i * 3));
    expect(macBytes(mac)?.length).toBe(32);
    // The last character carries two spare bits: another spelling of the same bytes is refused.
    const last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".indexOf(mac.at(-1)!);
    const twin = mac.slice(0, -1) + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last | 1];
    expect(twin).not.toBe(mac);
    expect(macBytes(twin)).toBeNull();
  });

  it("reads a signed payload's JSON, and says undefined for bytes that are not JSON", () => {
    const bytes = (t: string) => new TextEncoder().encode(t);
    expect(jsonOfBytes(bytes('{"sub":"m-1","exp":5}'))).toEqual({ sub: "m-1", exp: 5 });
    expect(jsonOfBytes(bytes("null"))).toBeNull();
    for (const bad of ["", "{", "{'a':1}", "\u00ff"]) expect(jsonOfBytes(bytes(bad))).toBeUndefined();
    expect(jsonOfBytes(Uint8Array.of(0xff, 0xfe))).toBeUndefined();
  });
});
