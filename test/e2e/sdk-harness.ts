/** Shared by the SDK and player end-to-end tests: placement, admin calls, polling, the client bench file. */
import { adminJson } from "../../ingest/publish";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Placement } from "../../r2-seed/demo-placement";
import type { LocalStack } from "../../r2-seed/local-stack";
import type { Page } from "playwright-core";

/** Lumen Fiber subscriber in New York: steered to lumen-nyc (two OCAs), then the New York IXP, then origin. */
export const GEO_NYC = "asn=64500;country=US;lat=40.71;lon=-74.0";

/** Two embedded OCAs in lumen-nyc and one at the New York IXP hold every title: failover has somewhere to go. */
export function failoverPlacement(titleIds: string[]): Placement[][] {
  return [
    [{ siteId: "ixp-nyc", ocaId: "ixp-nyc-1", titleIds }],
    [
      { siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds },
      { siteId: "lumen-nyc", ocaId: "lumen-nyc-2", titleIds },
    ],
  ];
}

/**
 * A member plays the stack's first title in New York (lumen-nyc) and fetches its first 4 video files:
 * some viewing, so today's bytes by source have something in them. Throws unless each answers 200.
 */
export async function watchAtLumenNyc(stack: LocalStack, memberId: string): Promise<void> {
  const { token } = (await (
    await fetch(`${stack.worker.url}/v1/dev/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ memberId, plan: "premium" }),
    })
  ).json()) as { token: string };
  const play = (await (
    await fetch(`${stack.worker.url}/v1/play`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "X-Client-Geo": GEO_NYC },
      body: JSON.stringify({ titleId: stack.catalogue.titles[0].id }),
    })
  ).json()) as { ocas: Array<{ url: string }> };
  for (const f of stack.catalogue.titles[0].files.filter((x) => x.path.startsWith("video/")).slice(0, 4)) {
    const status = (await fetch(`${play.ocas[0].url}${f.path}`)).status;
    if (status !== 200) throw new Error(`${f.path}: ${status}, not 200`);
  }
}

/** An admin API call against the stack (`p` starts with /admin). */
export async function admin(stack: LocalStack, method: string, p: string, body?: unknown): Promise<{ status: number; json: any }> {
  return adminJson({ baseUrl: stack.worker.url, adminToken: stack.adminToken }, method, p.replace(/^\/admin/, ""), body);
}

export async function setHealth(stack: LocalStack, siteId: string, ocaId: string, health: "healthy" | "failed" | "drained"): Promise<void> {
  const r = await admin(stack, "POST", `/admin/sites/${siteId}/ocas/${ocaId}/health`, { health });
  if (r.status !== 200) throw new Error(`setting ${siteId}/${ocaId} ${health}: ${r.status} ${JSON.stringify(r.json)}`);
}

/** Sets an OCA's fault switch (all zero clears it). */
export async function setFault(
  stack: LocalStack,
  siteId: string,
  ocaId: string,
  fault: { errorRate?: number; addedLatencyMs?: number; throughputBps?: number | null },
): Promise<void> {
  const r = await admin(stack, "POST", `/admin/sites/${siteId}/ocas/${ocaId}/fault`, fault);
  if (r.status !== 200) throw new Error(`setting ${siteId}/${ocaId} fault: ${r.status} ${JSON.stringify(r.json)}`);
}

/** An OCA's health as its site reports it, with who set it and why. */
export async function ocaHealthOf(stack: LocalStack, siteId: string, ocaId: string): Promise<{ health: string; by: string; reason: string }> {
  const r = await admin(stack, "GET", `/admin/sites/${siteId}`);
  const o = (r.json as { ocas: Array<{ ocaId: string; health: string; load: { healthBy: string; healthReason: string } }> }).ocas.find(
    (x) => x.ocaId === ocaId,
  )!;
  return { health: o.health, by: o.load.healthBy, reason: o.load.healthReason };
}

export async function setThroughput(stack: LocalStack, siteId: string, ocaId: string, throughputBps: number | null): Promise<void> {
  const r = await admin(stack, "POST", `/admin/sites/${siteId}/ocas/${ocaId}/capacity`, { throughputBps });
  if (r.status !== 200) throw new Error(`setting ${siteId}/${ocaId} throughput: ${r.status} ${JSON.stringify(r.json)}`);
}

export interface ServerEvent {
  type: string;
  at: number;
  bytes?: number;
  ocaId?: string;
  fromOcaId?: string;
  reason?: string;
  startupMs?: number;
  durationMs?: number;
  bitrate?: number;
}

export async function sessionEvents(stack: LocalStack, sessionId: string): Promise<ServerEvent[]> {
  const r = await admin(stack, "GET", `/admin/sessions/${sessionId}/events`);
  if (r.status !== 200) throw new Error(`session events: ${r.status} ${JSON.stringify(r.json)}`);
  return (r.json as { events: ServerEvent[] }).events;
}

/** Polls `fn` until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function pollUntil<T>(fn: () => T | Promise<T>, timeoutMs: number, what: string, intervalMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until a file URL on an OCA answers with `status` (health changes reach the data plane within ~1 s). */
export async function waitForStatus(url: string, status: number, timeoutMs = 15_000): Promise<void> {
  await pollUntil(
    async () => {
      const res = await fetch(url, { headers: { Range: "bytes=0-0" } });
      await res.arrayBuffer();
      return res.status === status;
    },
    timeoutMs,
    `${url} to answer ${status}`,
    200,
  );
}

const BENCH_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "bench", "out", "client.json");

/** Merges one test's figures into bench/out/client.json (each test owns one top-level key). */
export async function recordClientBench(key: string, figures: unknown): Promise<void> {
  await mkdir(path.dirname(BENCH_FILE), { recursive: true });
  let doc: Record<string, unknown> = {};
  try {
    doc = JSON.parse(await readFile(BENCH_FILE, "utf8")) as Record<string, unknown>;
  } catch {
    /* first writer */
  }
  doc.targets = { startupMs: 1000, failoverStallMs: 2000, fatalErrors: 0, backToTopRungMs: 10_000 };
  doc[key] = { ...(figures as object), measuredAt: new Date().toISOString() };
  await writeFile(BENCH_FILE, JSON.stringify(doc, null, 2) + "\n");
}

/**
 * From now on the page's segment requests get the edge's refusal (by default of a stream whose slot
 * another screen holds: 409 too_many_streams, the edge's own body). The real edge refuses only at the stream's
 * next activity check, a minute after the last, longer than a demo title plays; test/member-streams.test.ts
 * drives that in workerd.
 */
export async function refuseSegments(page: Page, refusal: Refusal = TOO_MANY_STREAMS): Promise<void> {
  await page.route("**/oca/**/seg-*", (route) =>
    route.fulfill({
      status: refusal.status,
      contentType: "application/json",
      body: JSON.stringify({ error: { code: refusal.code, message: refusal.message } }),
    }),
  );
}

/** A refusal as the edge words it: status, the API's code, message. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
}

/** A stream the member's object refused (stopped, or its slot taken by another screen). */
export const TOO_MANY_STREAMS: Refusal = {
  status: 409,
  code: "too_many_streams",
  message: "this stream stopped or the member's other streams hold every slot of the plan; press play again",
};

/** A URL token the edge rejected (expired, or signed with a key no longer in the ring). */
export const FORBIDDEN: Refusal = { status: 403, code: "forbidden", message: "token rejected: expired" };
