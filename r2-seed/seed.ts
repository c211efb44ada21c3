import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import type { Catalogue, CatalogueTitle } from "./catalogue-types";
import { licencesFor } from "./demo-licences";
import type { Placement } from "./demo-placement";

export interface SeedOptions {
  baseUrl: string;
  adminToken: string;
  catalogue: Catalogue;
  cacheDir: string;
  onProgress?: (msg: string) => void;
}

/** Every admin call the seed makes is idempotent, so one that hits a wrangler dev reload is simply retried. */
async function admin(opts: SeedOptions, method: string, route: string, body?: unknown): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${opts.baseUrl}/admin${route}`, {
      method,
      headers: { Authorization: `Bearer ${opts.adminToken}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.ok) return JSON.parse(text) as unknown;
    if (res.status === 503 && /restarted/i.test(text) && attempt < 5) {
      await new Promise((r) => setTimeout(r, 1000 * attempt));
      continue;
    }
    throw new Error(`${method} /admin${route}: ${res.status} ${text}`);
  }
}

/** Runs `fn` over items with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/**
 * Uploads one title's files to origin through the admin API (only those missing or different,
 * so a re-run after a crash resumes), then registers it with its licences.
 */
export async function publishTitle(opts: SeedOptions, title: CatalogueTitle): Promise<{ uploaded: number; bytes: number }> {
  const listed = (await admin(opts, "GET", `/origin/${title.id}`)) as { files: Array<{ path: string; bytes: number; sha256: string | null }> };
  const have = new Map(listed.files.map((f) => [f.path, f]));
  const todo = title.files.filter((f) => {
    const h = have.get(f.path);
    return !h || h.bytes !== f.bytes || h.sha256 !== f.sha256;
  });
  let bytes = 0;
  await pool(todo, 8, async (f) => {
    const file = path.join(opts.cacheDir, title.id, f.path);
    const size = (await stat(file)).size;
    const res = await fetch(`${opts.baseUrl}/admin/origin/${title.id}/${f.path}`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${opts.adminToken}`, "Content-Length": String(size), "X-Content-SHA256": f.sha256 },
      body: Readable.toWeb(createReadStream(file)) as ReadableStream,
      duplex: "half",
    } as RequestInit);
    if (res.status !== 201) throw new Error(`upload ${title.id}/${f.path}: ${res.status} ${await res.text()}`);
    bytes += size;
  });
  await admin(opts, "PUT", `/titles/${title.id}`, {
    name: title.name,
    description: title.description,
    releaseYear: title.releaseYear,
    durationS: title.durationS,
    encoding: title.encoding,
    renditions: title.renditions.map((r) => ({
      id: r.id,
      kind: r.kind,
      codec: r.codec,
      width: r.width,
      height: r.height,
      bandwidth: r.bandwidth,
      language: r.language,
      label: r.label,
    })),
    files: title.files,
    licences: licencesFor(title.id),
  });
  return { uploaded: todo.length, bytes };
}

/** Publishes the whole catalogue to origin and D1. */
export async function seedCatalogue(opts: SeedOptions): Promise<void> {
  for (const title of opts.catalogue.titles) {
    const t0 = Date.now();
    const { uploaded, bytes } = await publishTitle(opts, title);
    opts.onProgress?.(
      `origin: ${title.id} registered (${title.files.length} files, ${uploaded} uploaded, ${(bytes / 1e6).toFixed(1)} MB, ${Date.now() - t0} ms)`,
    );
  }
}

/** Copies titles into OCAs wave by wave (sites of a wave in parallel), through the admin fill API. */
export async function fillPlacement(opts: SeedOptions, waves: Placement[][]): Promise<void> {
  for (const wave of waves) {
    const bySite = new Map<string, Placement[]>();
    for (const p of wave) bySite.set(p.siteId, [...(bySite.get(p.siteId) ?? []), p]);
    await pool([...bySite.values()], 4, async (placements) => {
      const t0 = Date.now();
      const res = (await admin(opts, "POST", "/fill", { placements })) as {
        results: Array<{ ocaId: string; titleId: string; copied: number; bySource: Record<string, number> }>;
      };
      const copied = res.results.reduce((s, r) => s + r.copied, 0);
      const sources = ["peer", "parent", "origin"].map((k) => `${k} ${res.results.reduce((s, r) => s + (r.bySource[k] ?? 0), 0)}`).join(", ");
      opts.onProgress?.(`fill: ${placements[0].siteId} ${placements.map((p) => `${p.ocaId}[${p.titleIds.join(",")}]`).join(" ")}: ${copied} files copied (${sources}) in ${Date.now() - t0} ms`);
    });
  }
}
