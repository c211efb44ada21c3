import path from "node:path";
import { adminJson, publishTitle, type TitleRegistration } from "../ingest/publish";
import type { Catalogue, CatalogueTitle } from "./catalogue-types";
import { licencesFor } from "./demo-licences";
import type { Placement } from "./demo-placement";

export interface SeedOptions {
  baseUrl: string;
  adminToken: string;
  catalogue: Catalogue;
  cacheDir: string;
  onProgress?: (msg: string) => void;
  /** The fetch the admin calls go through (tests); the global one by default. */
  fetch?: typeof fetch;
}

/** Every admin call the seed makes is idempotent, so one that hits a wrangler dev reload is simply retried. */
async function admin(opts: SeedOptions, method: string, route: string, body?: unknown): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    const { status, json } = await adminJson(opts, method, route, body);
    if (status === 200) return json;
    if (status === 503 && /restarted/i.test(JSON.stringify(json)) && attempt < 5) {
      await new Promise((r) => setTimeout(r, 1000 * attempt));
      continue;
    }
    throw new Error(`${method} /admin${route}: ${status} ${JSON.stringify(json)}`);
  }
}

/** A demo title's registration (`PUT /admin/titles/{id}`), with its files or the ones given (a re-publish). */
export function demoRegistration(title: CatalogueTitle, files: CatalogueTitle["files"] = title.files): TitleRegistration {
  return {
    name: title.name,
    description: title.description,
    releaseYear: title.releaseYear,
    durationS: title.durationS,
    encoding: title.encoding ?? { reason: "demo title", ladder: [] },
    renditions: title.renditions,
    files,
    // A re-publish with other files keeps the poster only if they still hold it (registration refuses one that is not among them).
    ...(title.poster && files.some((f) => f.path === title.poster) ? { poster: title.poster } : {}),
    licences: licencesFor(title.id),
  };
}

/**
 * Publishes the whole catalogue to origin and D1 with ingest's publisher: only files missing or
 * different in origin are uploaded, so a re-run after a crash resumes.
 */
export async function seedCatalogue(opts: SeedOptions): Promise<void> {
  for (const title of opts.catalogue.titles) {
    const r = await publishTitle(opts, title.id, path.join(opts.cacheDir, title.id), demoRegistration(title));
    opts.onProgress?.(
      `origin: ${title.id} registered (${title.files.length} files, ${r.uploaded} uploaded, ${(r.uploadedBytes / 1e6).toFixed(1)} MB, ${Math.round(r.elapsedS * 1000)} ms)`,
    );
  }
}

/**
 * Copies titles into OCAs wave by wave through the admin fill API, one site at a time. Not in parallel:
 * locally the Worker, every site object and the R2 buckets run on one workerd thread, which one fill
 * keeps busy, so fills sent together only shared it. The waves took as long either way (~27 s for the
 * demo placement), but each fill's time was then the whole wave's (three IXP sites all "12,707 ms", as
 * if each waited out a fixed timeout) rather than its own copies' (2-4 s). There is no wait to shorten:
 * a fill's request answers when its last copy is verified.
 */
export async function fillPlacement(opts: SeedOptions, waves: Placement[][]): Promise<void> {
  for (const wave of waves) {
    const bySite = new Map<string, Placement[]>();
    for (const p of wave) bySite.set(p.siteId, [...(bySite.get(p.siteId) ?? []), p]);
    for (const placements of bySite.values()) {
      const t0 = Date.now();
      const res = (await admin(opts, "POST", "/fill", { placements })) as {
        results: Array<{ ocaId: string; titleId: string; copied: number; bySource: Record<string, number> }>;
      };
      const copied = res.results.reduce((s, r) => s + r.copied, 0);
      const sources = ["peer", "parent", "origin"].map((k) => `${k} ${res.results.reduce((s, r) => s + (r.bySource[k] ?? 0), 0)}`).join(", ");
      opts.onProgress?.(
        `fill: ${placements[0].siteId} ${placements.map((p) => `${p.ocaId}[${p.titleIds.join(",")}]`).join(" ")}: ${copied} files copied (${sources}) in ${Date.now() - t0} ms`,
      );
    }
  }
}
