/**
 * Uploads to R2 through its S3-compatible API, signed with AWS Signature Version 4 (the same
 * scheme aws4fetch implements), with node:crypto only.
 *
 *   endpoint  https://{accountId}.r2.cloudflarestorage.com   (region "auto", service "s3")
 *   object    PUT {endpoint}/{bucket}/{key}                  (path-style)
 *
 * Every PUT carries the body's SHA-256 twice: as the signed payload hash (x-amz-content-sha256,
 * which the server checks against the bytes it receives, so a corrupted upload is refused), and as
 * x-amz-meta-sha256 (hex), which R2 exposes as the object's customMetadata.sha256 — what
 * `GET /admin/origin/{title}` lists, so a re-run can tell which files are already there.
 * (R2 does not implement streaming/chunked payload signing; the hash is known before the upload
 * because the packager lists every file's SHA-256.)
 */
import { createHash, createHmac } from "node:crypto";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** e.g. https://<account>.r2.cloudflarestorage.com */
  endpoint: string;
  bucket: string;
  /** "auto" for R2 */
  region: string;
}

export function r2Endpoint(accountId: string): string {
  if (!/^[A-Za-z0-9]{1,64}$/.test(accountId)) throw new Error(`not an account id: ${JSON.stringify(accountId)}`);
  return `https://${accountId}.r2.cloudflarestorage.com`;
}

/** RFC 3986 percent-encoding of one path segment, as SigV4 wants it (unreserved characters kept). */
export function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Path-style object URL: endpoint/bucket/key, each key segment encoded, slashes kept. */
export function objectUrl(c: Pick<S3Credentials, "endpoint" | "bucket">, key: string): string {
  const base = c.endpoint.replace(/\/+$/, "");
  return `${base}/${encodeRfc3986(c.bucket)}/${key.split("/").map(encodeRfc3986).join("/")}`;
}

const sha256Hex = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

export const EMPTY_SHA256 = sha256Hex("");

/** 20130524T000000Z */
export function amzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

export interface SignInput {
  method: string;
  url: string;
  /** headers to sign (host is added from the URL when absent) */
  headers: Record<string, string>;
  /** hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
  payloadHash: string;
  credentials: Pick<S3Credentials, "accessKeyId" | "secretAccessKey" | "sessionToken" | "region">;
  service?: string;
  date: Date;
}

export interface SignedRequest {
  url: string;
  headers: Record<string, string>;
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
}

/** AWS SigV4 header signing (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html). */
export function signV4(input: SignInput): SignedRequest {
  const url = new URL(input.url);
  const service = input.service ?? "s3";
  const datetime = amzDate(input.date);
  const day = datetime.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers)) headers[k.toLowerCase()] = String(v);
  headers.host ??= url.host;
  headers["x-amz-date"] = datetime;
  headers["x-amz-content-sha256"] ??= input.payloadHash;
  if (input.credentials.sessionToken) headers["x-amz-security-token"] = input.credentials.sessionToken;

  const names = Object.keys(headers).sort();
  const canonicalHeaders = names.map((n) => `${n}:${headers[n].trim().replace(/\s+/g, " ")}\n`).join("");
  const signedHeaders = names.join(";");
  // the path is already encoded segment by segment (objectUrl); S3 does not encode it twice
  const canonicalUri = url.pathname || "/";
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonicalRequest = [input.method.toUpperCase(), canonicalUri, query, canonicalHeaders, signedHeaders, input.payloadHash].join("\n");
  const scope = `${day}/${input.credentials.region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", datetime, scope, sha256Hex(canonicalRequest)].join("\n");
  const kDate = hmac(`AWS4${input.credentials.secretAccessKey}`, day);
  const kRegion = hmac(kDate, input.credentials.region);
  const kService = hmac(kRegion, service);
  const kSigning = hmac(kService, "aws4_request");
  const signature = createHmac("sha256", kSigning).update(stringToSign).digest("hex");
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${scope},SignedHeaders=${signedHeaders},Signature=${signature}`;
  return { url: url.toString(), headers, canonicalRequest, stringToSign, signature };
}

/** The signed PUT of one title file into the bucket (what putObject sends; exported for tests). */
export function signedPut(c: S3Credentials, key: string, file: { bytes: number; sha256: string; contentType: string }, date = new Date()): SignedRequest {
  return signV4({
    method: "PUT",
    url: objectUrl(c, key),
    headers: {
      "content-length": String(file.bytes),
      "content-type": file.contentType,
      "x-amz-meta-sha256": file.sha256,
    },
    payloadHash: file.sha256,
    credentials: c,
    date,
  });
}

/**
 * Why `endpoint` cannot be an S3 endpoint, or null: an http(s) URL with a host, and no query or
 * fragment (object URLs are built by appending the bucket and key to it).
 */
export function endpointProblem(endpoint: string): string | null {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return `not a URL: ${JSON.stringify(endpoint.slice(0, 200))}`;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return `not an https:// or http:// URL: ${JSON.stringify(endpoint.slice(0, 200))}`;
  if (!url.hostname) return `no host in ${JSON.stringify(endpoint.slice(0, 200))}`;
  if (url.search || url.hash || url.username || url.password)
    return "an endpoint is a base URL such as https://<account>.r2.cloudflarestorage.com, without credentials, query or fragment";
  return null;
}

/**
 * Why `bucket` cannot name an R2 bucket, or null: 3 to 63 lowercase letters, digits and hyphens, a letter
 * or digit at each end (R2's rule). Refused before the encode: S3 would refuse it only at the first upload.
 */
export function bucketProblem(bucket: string): string | null {
  if (/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket)) return null;
  return `not a bucket name: ${JSON.stringify(bucket.slice(0, 200))} (3 to 63 lowercase letters, digits and hyphens, a letter or digit at each end)`;
}

/** A refusal from the S3 API: the HTTP status and S3's error Code (SignatureDoesNotMatch, AccessDenied…) and Message when the body names them. */
export class S3Error extends Error {
  constructor(
    readonly key: string,
    readonly status: number,
    readonly code: string | null,
    readonly s3Message: string | null,
  ) {
    super(`S3 PUT ${key}: ${S3Error.describe(status, code, s3Message)}`);
  }

  /** "403 SignatureDoesNotMatch (The request signature…)": the status, then what S3 said of it. */
  static describe(status: number, code: string | null, message: string | null): string {
    return `${status}${code ? ` ${code}` : ""}${message ? ` (${message})` : ""}`;
  }
}

/** The `<Code>` and `<Message>` of an S3 XML error body, each one line and short (the body is S3's, not ours). */
export function s3ErrorOf(body: string): { code: string | null; message: string | null } {
  const field = (name: string) => {
    const m = new RegExp(`<${name}>([^<]{1,300})</${name}>`).exec(body);
    return m ? m[1].replace(/\s+/g, " ").trim() || null : null;
  };
  const code = field("Code");
  return { code: code && /^[A-Za-z0-9.]{1,64}$/.test(code) ? code : null, message: field("Message") };
}

/** PUTs one object; a refusal throws an S3Error (status and S3's code), never the body whole. */
export async function putObject(
  c: S3Credentials,
  key: string,
  file: { bytes: number; sha256: string; contentType: string },
  body: ReadableStream | Buffer,
  fetchImpl: typeof fetch = fetch,
): Promise<void> {
  const signed = signedPut(c, key, file);
  const { host: _host, ...headers } = signed.headers; // fetch sets Host itself
  const res = await fetchImpl(signed.url, { method: "PUT", headers, body, duplex: "half" } as RequestInit);
  if (!res.ok) {
    const { code, message } = s3ErrorOf((await res.text().catch(() => "")).slice(0, 16_384));
    throw new S3Error(key, res.status, code, message);
  }
  await res.arrayBuffer().catch(() => undefined);
}

/** An environment variable's value, an empty one counting as unset (`R2_ENDPOINT=` in a shell or .env file). */
export function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === "" ? undefined : v;
}

/**
 * Credentials from the environment (R2_ACCOUNT_ID or R2_ENDPOINT, R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY,
 * R2_BUCKET, R2_REGION, R2_SESSION_TOKEN; an empty variable counts as unset), or null.
 */
export function s3CredentialsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<S3Credentials> & { accountId?: string } = {},
): S3Credentials | null {
  const get = (name: string) => envValue(env, name);
  const accessKeyId = overrides.accessKeyId ?? get("R2_ACCESS_KEY_ID");
  const secretAccessKey = overrides.secretAccessKey ?? get("R2_SECRET_ACCESS_KEY");
  const accountId = overrides.accountId ?? get("R2_ACCOUNT_ID");
  const endpoint = overrides.endpoint ?? get("R2_ENDPOINT") ?? (accountId ? r2Endpoint(accountId) : undefined);
  if (!accessKeyId || !secretAccessKey || !endpoint) return null;
  return {
    accessKeyId,
    secretAccessKey,
    sessionToken: overrides.sessionToken ?? get("R2_SESSION_TOKEN"),
    endpoint,
    bucket: overrides.bucket ?? get("R2_BUCKET") ?? "vcdn-origin",
    region: overrides.region ?? get("R2_REGION") ?? "auto",
  };
}
