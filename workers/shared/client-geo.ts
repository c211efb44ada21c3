import { ApiError } from "./errors";
import { isCountryCode } from "../../shared/ids";

/** Where the client is, from `request.cf`, or from the dev-only X-Client-Geo header. */
export interface ClientGeo {
  asn: number | null;
  country: string | null;
  lat: number | null;
  lon: number | null;
  /** True when taken from X-Client-Geo (only honoured with DEV_MODE=true). */
  simulated: boolean;
}

const num = (v: unknown): number | null => {
  const n = typeof v === "string" ? Number(v) : typeof v === "number" ? v : NaN;
  return Number.isFinite(n) ? n : null;
};

/**
 * Reads the client's ASN, country and location. `X-Client-Geo: asn=64500;country=US;lat=40.7;lon=-74.0`
 * overrides `request.cf` only when DEV_MODE is "true"; a malformed header is a 400.
 */
export function clientGeo(req: Request, env: Pick<Env, "DEV_MODE">): ClientGeo {
  const header = req.headers.get("X-Client-Geo");
  if (header !== null && env.DEV_MODE === "true") return parseGeoHeader(header);
  const cf = (req as Request & { cf?: Record<string, unknown> }).cf ?? {};
  const country = typeof cf.country === "string" && isCountryCode(cf.country) ? cf.country : null;
  return { asn: num(cf.asn), country, lat: num(cf.latitude), lon: num(cf.longitude), simulated: false };
}

/** Parses the X-Client-Geo header; every field is optional, unknown fields are rejected. */
export function parseGeoHeader(header: string): ClientGeo {
  const geo: ClientGeo = { asn: null, country: null, lat: null, lon: null, simulated: true };
  for (const part of header.split(";")) {
    if (part.trim() === "") continue;
    const [k, v, ...extra] = part.split("=").map((s) => s.trim());
    const bad = (why: string) => new ApiError(400, "bad_client_geo", `X-Client-Geo: ${why}`);
    if (v === undefined || extra.length) throw bad(`expected key=value, got "${part.trim()}"`);
    switch (k.toLowerCase()) {
      case "asn":
        // An ASN is 32 bits (RFC 6793); a session's signed claims refuse anything larger.
        if (!/^\d{1,10}$/.test(v) || Number(v) > 0xffff_ffff) throw bad("asn must be a number of at most 4294967295");
        geo.asn = Number(v);
        break;
      case "country":
        if (!/^[A-Za-z]{2}$/.test(v)) throw bad("country must be a two-letter code");
        geo.country = v.toUpperCase();
        break;
      case "lat":
        geo.lat = num(v);
        if (geo.lat === null || Math.abs(geo.lat) > 90) throw bad("lat must be within -90..90");
        break;
      case "lon":
        geo.lon = num(v);
        if (geo.lon === null || Math.abs(geo.lon) > 180) throw bad("lon must be within -180..180");
        break;
      default:
        throw bad(`unknown field "${k}"`);
    }
  }
  return geo;
}
