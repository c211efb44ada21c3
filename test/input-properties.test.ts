import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ocaKey } from "../shared/file-keys";
import { countryCodeSchema, isCountryCode, isInheritedName, isSafeFilePath, isSafeId, MAX_FILE_PATH } from "../shared/ids";
import { parseGeoHeader } from "../workers/shared/client-geo";
import { decideRange } from "../workers/shared/range";
import { ApiError } from "../workers/shared/errors";

// Property tests of the parsers that take hostile input before anything else does. Seeds are fixed.
const FC = { seed: 1201, numRuns: 2000 };
const rangeish = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc
    .tuple(
      fc.constantFrom("bytes", "Bytes", "items", ""),
      fc.array(fc.tuple(fc.oneof(fc.nat(), fc.constant("")), fc.oneof(fc.nat(), fc.constant(""))), { maxLength: 3 }),
    )
    .map(([unit, specs]) => `${unit}=${specs.map(([a, b]) => `${a}-${b}`).join(",")}`),
);

describe("the Range parser (RFC 9110 section 14)", () => {
  it("never throws, and a partial answer always lies inside the representation", () => {
    fc.assert(
      fc.property(fc.option(rangeish, { nil: undefined }), fc.nat({ max: 1e9 }), (header, size) => {
        const d = decideRange(header, size);
        expect(["full", "partial", "unsatisfiable"]).toContain(d.kind);
        if (d.kind === "partial") {
          expect(d.start).toBeGreaterThanOrEqual(0);
          expect(d.end).toBeGreaterThanOrEqual(d.start);
          expect(d.end).toBeLessThan(size);
        }
      }),
      FC,
    );
  });

  it("answers one satisfiable range exactly, clamps its end, and finds a first byte past the end unsatisfiable", () => {
    fc.assert(
      fc.property(fc.nat({ max: 1e7 }), fc.nat({ max: 1e7 }), fc.integer({ min: 1, max: 1e7 }), (a, len, size) => {
        const d = decideRange(`bytes=${a}-${a + len}`, size);
        if (a >= size) expect(d).toEqual({ kind: "unsatisfiable" });
        else expect(d).toEqual({ kind: "partial", start: a, end: Math.min(a + len, size - 1) });
        const suffix = decideRange(`bytes=-${len + 1}`, size);
        expect(suffix).toEqual({ kind: "partial", start: Math.max(0, size - len - 1), end: size - 1 });
      }),
      FC,
    );
  });

  it("skips empty list elements (RFC 9110 §5.6.1.2), and finds a list of nothing but them malformed", () => {
    for (const header of ["bytes=0-9,", "bytes=,0-9", "bytes= , 0-9 ,, "]) expect(decideRange(header, 100)).toEqual({ kind: "partial", start: 0, end: 9 });
    expect(decideRange("bytes=0-9,,20-29", 100)).toEqual({ kind: "full", ignored: "multiple" });
    for (const header of ["bytes=", "bytes=,", "bytes= , ,"]) expect(decideRange(header, 100)).toEqual({ kind: "full", ignored: "malformed" });
    // A list past 16 elements is not parsed at all: the whole file, as for several ranges.
    expect(decideRange(`bytes=0-9${",".repeat(10_000)}`, 100)).toEqual({ kind: "full", ignored: "multiple" });
    expect(decideRange(`bytes=0-9${",".repeat(15)}`, 100)).toEqual({ kind: "partial", start: 0, end: 9 });
  });
});

describe("the path validator", () => {
  const pathish = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc
      .array(fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{0,12}$/), fc.constantFrom("..", ".", "%2e%2e", "__proto__", "constructor", "a\\b", "a%00", "")), {
        minLength: 1,
        maxLength: 10,
      })
      .map((p) => p.join("/")),
  );

  it("accepts only paths that stay inside the title: no dot-segments, encodings, separators or inherited names", () => {
    fc.assert(
      fc.property(pathish, (path) => {
        if (!isSafeFilePath(path)) return;
        const segments = path.split("/");
        expect(segments.length).toBeLessThanOrEqual(8);
        expect(path.length).toBeLessThanOrEqual(MAX_FILE_PATH);
        for (const s of segments) {
          expect(s).not.toBe("");
          expect(s).not.toMatch(/^\.+$/);
          expect(s.includes("..")).toBe(false);
          expect(s).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/);
          expect(isInheritedName(s)).toBe(false);
        }
        const key = ocaKey("site", "oca", "title", path, "ab".repeat(32));
        expect(key.startsWith("site/oca/title/abababababababab/")).toBe(true);
        expect(key.split("/").includes("..")).toBe(false);
      }),
      FC,
    );
  });

  it("keeps every OCA key of an accepted path within R2's 1,024 bytes, whatever the ids", () => {
    const atLimit = [...Array.from({ length: 7 }, () => "a".repeat(113)), "ab"].join("/");
    expect(atLimit.length).toBe(MAX_FILE_PATH);
    expect(isSafeFilePath(atLimit)).toBe(true);
    expect(isSafeFilePath(`${atLimit}f`)).toBe(false);
    // Eight segments of 128 characters (1,031) were accepted before: an OCA key of 1,200+ bytes.
    expect(isSafeFilePath(Array.from({ length: 8 }, () => "b".repeat(128)).join("/"))).toBe(false);
    const id = "x".repeat(64);
    expect(new TextEncoder().encode(ocaKey(id, id, id, atLimit, "ab".repeat(32))).length).toBeLessThanOrEqual(1024);
  });

  it("accepts as ids only 1-64 plain characters that name no inherited property", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 70 }), fc.constantFrom("__proto__", "constructor", "toString", "valueOf", "a".repeat(65))), (id) => {
        if (isSafeId(id)) {
          expect(id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
          expect(isInheritedName(id)).toBe(false);
        }
      }),
      FC,
    );
  });

  it("accepts as country codes exactly two capital letters, in checks and body schemas alike", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom("US", "us", "Us", "USA", "U", "", "__", "ÜS", "US\n")), (c) => {
        const plain = /^[A-Z]{2}$/.test(c) && c.length === 2;
        expect(isCountryCode(c)).toBe(plain);
        expect(countryCodeSchema.safeParse(c).success).toBe(plain);
      }),
      FC,
    );
    expect(countryCodeSchema.safeParse("de").error?.issues[0].message).toMatch(/ISO 3166 alpha-2/);
  });
});

describe("the X-Client-Geo parser", () => {
  it("returns values in range or a 400, and nothing else, for any header", () => {
    const geoish = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc
        .array(
          fc.tuple(
            fc.constantFrom("asn", "country", "lat", "lon", "ASN", "__proto__", "x", ""),
            fc.oneof(fc.string({ maxLength: 12 }), fc.double().map(String), fc.nat().map(String)),
          ),
          { maxLength: 5 },
        )
        .map((kv) => kv.map(([k, v]) => `${k}=${v}`).join(";")),
    );
    fc.assert(
      fc.property(geoish, (header) => {
        let geo: ReturnType<typeof parseGeoHeader>;
        try {
          geo = parseGeoHeader(header);
        } catch (err) {
          expect(err).toBeInstanceOf(ApiError);
          expect((err as ApiError).status).toBe(400);
          return;
        }
        expect(geo.simulated).toBe(true);
        if (geo.asn !== null) expect(Number.isSafeInteger(geo.asn) && geo.asn >= 0 && geo.asn <= 4294967295).toBe(true);
        if (geo.country !== null) expect(geo.country).toMatch(/^[A-Z]{2}$/);
        if (geo.lat !== null) expect(Math.abs(geo.lat)).toBeLessThanOrEqual(90);
        if (geo.lon !== null) expect(Math.abs(geo.lon)).toBeLessThanOrEqual(180);
      }),
      FC,
    );
  });

  it("reads back exactly what a well-formed header says", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 4294967295 }),
        fc.stringMatching(/^[A-Z]{2}$/),
        // -0 prints as "0": compare with the value the text carries.
        fc.double({ min: -90, max: 90, noNaN: true }).map((v) => v + 0),
        fc.double({ min: -180, max: 180, noNaN: true }).map((v) => v + 0),
        (asn, country, lat, lon) => {
          expect(parseGeoHeader(`asn=${asn};country=${country.toLowerCase()};lat=${lat};lon=${lon}`)).toEqual({ asn, country, lat, lon, simulated: true });
        },
      ),
      FC,
    );
  });
});
