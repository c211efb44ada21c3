import { describe, expect, it } from "vitest";
import { b64url, b64urlPortable, fromB64url, fromB64urlPortable, jsonOfBytes, macBytes } from "../workers/shared/hmac";

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
    for (const bad of ["a", "ab+c", "ab/c", "abc=", "a b", "ab\ncd", "\tabc", "é"]) {
      expect(fromB64url(bad)).toBeNull();
      expect(fromB64urlPortable(bad)).toBeNull();
    }
  });

  it("encodes and decodes as the JavaScript versions do, with the runtime's own base64 where it has one", () => {
    // workerd has Uint8Array.toBase64 / fromBase64; the JavaScript versions serve a runtime without them.
    expect(typeof (Uint8Array.prototype as { toBase64?: unknown }).toBase64).toBe("function");
    for (let n = 0; n < 70; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 151 + n * 7) % 256);
      const text = b64url(bytes);
      expect(text).toBe(b64urlPortable(bytes));
      expect(fromB64url(text)).toEqual(fromB64urlPortable(text));
      expect(fromB64url(text)).toEqual(bytes);
    }
    // A last character with spare bits set decodes alike both ways (macBytes refuses such spellings).
    expect(fromB64url("AB")).toEqual(fromB64urlPortable("AB"));
    expect(fromB64url("AF")).toEqual(fromB64urlPortable("AF"));
    expect(b64url(new Uint8Array(new ArrayBuffer(3)).buffer)).toBe("AAAA");
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
