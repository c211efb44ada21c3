import { DurableObject } from "cloudflare:workers";
import { findSite, parentChain, siteBucketBinding, topology, type SiteSpec } from "../workers/shared/topology";
import { ocaKey, originKey } from "../workers/shared/file-keys";

/** An OCA's health as the site sees it. Only healthy OCAs are steered to. */
export type OcaHealth = "healthy" | "drained" | "failed";
/** Where a fill copied a file from. */
export type FillSource = "peer" | "parent" | "origin";

export interface TitleFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface OcaState {
  ocaId: string;
  capacityBytes: number;
  throughputBps: number;
  usedBytes: number;
  health: OcaHealth;
  titles: Array<{ titleId: string; files: number; bytes: number; readyFiles: number; complete: boolean }>;
}

export interface SiteState {
  site: SiteSpec;
  ocas: OcaState[];
  misses: Array<{ ocaId: string; titleId: string; count: number; bytes: number }>;
  fills: { files: number; bytes: number; bySource: Record<FillSource, { files: number; bytes: number }> };
}

export type FillResult =
  | { ok: true; ocaId: string; titleId: string; copied: number; skipped: number; bytes: number; bySource: Record<FillSource, number> }
  | { ok: false; ocaId: string; titleId: string; code: "unknown_oca" | "unknown_title" | "insufficient_capacity" | "copy_failed"; message: string };

/**
 * One Durable Object per OCA site: the truth of its OCAs, what each holds (file, bytes, state,
 * checksum), health and misses. It mirrors a steering view (which OCA holds which complete title,
 * and OCA health) into D1 so the play request reads one table instead of calling every site.
 */
export class OcaSite extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly running = new Map<string, Promise<FillResult>>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      this.sql.exec(`CREATE TABLE IF NOT EXISTS oca_capacity (oca_id TEXT PRIMARY KEY, capacity_bytes INTEGER NOT NULL)`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS oca_health (oca_id TEXT PRIMARY KEY, health TEXT NOT NULL, updated_at INTEGER NOT NULL)`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS holdings (
        oca_id TEXT NOT NULL, title_id TEXT NOT NULL, path TEXT NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
        state TEXT NOT NULL, source TEXT, updated_at INTEGER NOT NULL, PRIMARY KEY (oca_id, title_id, path))`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS misses (
        oca_id TEXT NOT NULL, title_id TEXT NOT NULL, count INTEGER NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (oca_id, title_id))`);
    });
  }

  /** The site this object stands for, from the name it was addressed by. */
  private get site(): SiteSpec {
    const name = this.ctx.id.name;
    const site = name ? findSite(name) : undefined;
    if (!site) throw new Error(`OcaSite object has no known site name (${name ?? "unnamed"})`);
    return site;
  }

  private bucket(site: SiteSpec = this.site): R2Bucket {
    return (this.env as unknown as Record<string, R2Bucket>)[siteBucketBinding(site)];
  }

  private health(ocaId: string): OcaHealth {
    const row = this.sql.exec<{ health: OcaHealth }>(`SELECT health FROM oca_health WHERE oca_id = ?`, ocaId).toArray()[0];
    return row?.health ?? "healthy";
  }

  /** An OCA's capacity: the topology's, unless an operator set it (e.g. a disk went bad). */
  private capacity(ocaId: string): number {
    const row = this.sql.exec<{ capacity_bytes: number }>(`SELECT capacity_bytes FROM oca_capacity WHERE oca_id = ?`, ocaId).toArray()[0];
    return row?.capacity_bytes ?? this.site.ocas.find((o) => o.id === ocaId)?.capacityBytes ?? 0;
  }

  /** Sets an OCA's usable capacity in bytes; null returns it to the topology's value. */
  async setCapacity(ocaId: string, capacityBytes: number | null): Promise<{ ok: boolean; capacityBytes: number }> {
    if (!this.site.ocas.some((o) => o.id === ocaId)) return { ok: false, capacityBytes: 0 };
    if (capacityBytes === null) this.sql.exec(`DELETE FROM oca_capacity WHERE oca_id = ?`, ocaId);
    else this.sql.exec(`INSERT OR REPLACE INTO oca_capacity (oca_id, capacity_bytes) VALUES (?, ?)`, ocaId, capacityBytes);
    return { ok: true, capacityBytes: this.capacity(ocaId) };
  }

  /** Site state for operators: OCAs, capacity, holdings per title, health, misses, fill totals. */
  async describe(): Promise<SiteState> {
    const site = this.site;
    // Complete means every file the catalogue lists for the title is ready here.
    const heldTitles = this.sql.exec<{ title_id: string }>(`SELECT DISTINCT title_id FROM holdings`).toArray().map((r) => r.title_id);
    const expected = new Map<string, number>();
    if (heldTitles.length) {
      const { results } = await this.env.DB.prepare(
        `SELECT title_id, COUNT(*) AS n FROM files WHERE title_id IN (SELECT value FROM json_each(?)) GROUP BY title_id`,
      )
        .bind(JSON.stringify(heldTitles))
        .all<{ title_id: string; n: number }>();
      for (const r of results) expected.set(r.title_id, r.n);
    }
    const ocas = site.ocas.map((o): OcaState => {
      const titles = this.sql
        .exec<{ title_id: string; files: number; bytes: number; ready: number }>(
          `SELECT title_id, COUNT(*) AS files, SUM(bytes) AS bytes, SUM(state = 'ready') AS ready
           FROM holdings WHERE oca_id = ? GROUP BY title_id ORDER BY title_id`,
          o.id,
        )
        .toArray();
      return {
        ocaId: o.id,
        capacityBytes: this.capacity(o.id),
        throughputBps: o.throughputBps,
        usedBytes: titles.reduce((s, t) => s + t.bytes, 0),
        health: this.health(o.id),
        titles: titles.map((t) => ({
          titleId: t.title_id,
          files: t.files,
          bytes: t.bytes,
          readyFiles: t.ready,
          complete: t.ready === t.files && t.ready === (expected.get(t.title_id) ?? -1),
        })),
      };
    });
    const misses = this.sql
      .exec<{ oca_id: string; title_id: string; count: number; bytes: number }>(`SELECT * FROM misses ORDER BY oca_id, title_id`)
      .toArray()
      .map((m) => ({ ocaId: m.oca_id, titleId: m.title_id, count: m.count, bytes: m.bytes }));
    const bySource: SiteState["fills"]["bySource"] = { peer: { files: 0, bytes: 0 }, parent: { files: 0, bytes: 0 }, origin: { files: 0, bytes: 0 } };
    for (const r of this.sql
      .exec<{ source: FillSource; files: number; bytes: number }>(
        `SELECT source, COUNT(*) AS files, SUM(bytes) AS bytes FROM holdings WHERE state = 'ready' AND source IS NOT NULL GROUP BY source`,
      )
      .toArray()) {
      bySource[r.source] = { files: r.files, bytes: r.bytes };
    }
    const files = Object.values(bySource).reduce((s, v) => s + v.files, 0);
    const bytes = Object.values(bySource).reduce((s, v) => s + v.bytes, 0);
    return { site, ocas, misses, fills: { files, bytes, bySource } };
  }

  /** Which OCA of this site holds a ready copy of each file of a title (path -> ocaId). */
  async holdersOf(titleId: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const rows = this.sql
      .exec<{ path: string; oca_id: string }>(`SELECT path, oca_id FROM holdings WHERE title_id = ? AND state = 'ready' ORDER BY oca_id`, titleId)
      .toArray();
    for (const r of rows) {
      if (this.health(r.oca_id) !== "failed") out[r.path] ??= r.oca_id;
    }
    return out;
  }

  /** Sets an OCA's health and publishes it to the steering view. */
  async setHealth(ocaId: string, health: OcaHealth): Promise<{ ok: boolean }> {
    if (!this.site.ocas.some((o) => o.id === ocaId)) return { ok: false };
    const now = Date.now();
    this.sql.exec(`INSERT OR REPLACE INTO oca_health (oca_id, health, updated_at) VALUES (?, ?, ?)`, ocaId, health, now);
    await this.env.DB.prepare(`INSERT OR REPLACE INTO oca_status (oca_id, site_id, health, updated_at) VALUES (?, ?, ?, ?)`)
      .bind(ocaId, this.site.id, health, now)
      .run();
    return { ok: true };
  }

  /** Counts a request the OCA had to serve from a parent tier or origin because it lacked the file. */
  async recordMiss(ocaId: string, titleId: string, bytes: number): Promise<void> {
    this.sql.exec(
      `INSERT INTO misses (oca_id, title_id, count, bytes) VALUES (?, ?, 1, ?)
       ON CONFLICT (oca_id, title_id) DO UPDATE SET count = count + 1, bytes = bytes + excluded.bytes`,
      ocaId,
      titleId,
      bytes,
    );
  }

  /**
   * Copies every file of a title into one OCA: from a peer OCA of this site if one holds it, else the
   * nearest parent site that holds it, else origin. Each copy is a real byte copy whose size and
   * SHA-256 are verified (R2 checks the digest on write) before it counts as ready.
   */
  async fillTitle(ocaId: string, titleId: string): Promise<FillResult> {
    const key = `${ocaId}/${titleId}`;
    let run = this.running.get(key);
    if (!run) {
      run = this.doFill(ocaId, titleId).finally(() => this.running.delete(key));
      this.running.set(key, run);
    }
    return run;
  }

  private async doFill(ocaId: string, titleId: string): Promise<FillResult> {
    const site = this.site;
    const oca = site.ocas.find((o) => o.id === ocaId);
    if (!oca) return { ok: false, ocaId, titleId, code: "unknown_oca", message: `site ${site.id} has no OCA ${ocaId}` };
    const { results: files } = await this.env.DB.prepare(`SELECT path, bytes, sha256 FROM files WHERE title_id = ? ORDER BY path`)
      .bind(titleId)
      .all<TitleFile>();
    if (files.length === 0) return { ok: false, ocaId, titleId, code: "unknown_title", message: `title ${titleId} has no files in the catalogue` };

    const held = new Map(
      this.sql
        .exec<{ path: string; sha256: string; state: string }>(`SELECT path, sha256, state FROM holdings WHERE oca_id = ? AND title_id = ?`, ocaId, titleId)
        .toArray()
        .map((r) => [r.path, r]),
    );
    const missing = files.filter((f) => {
      const h = held.get(f.path);
      return !h || h.state !== "ready" || h.sha256 !== f.sha256;
    });
    const used = this.sql.exec<{ b: number | null }>(`SELECT SUM(bytes) AS b FROM holdings WHERE oca_id = ?`, ocaId).one().b ?? 0;
    const heldBytesOfMissing = missing.reduce((s, f) => s + (held.get(f.path) ? f.bytes : 0), 0);
    const need = missing.reduce((s, f) => s + f.bytes, 0) - heldBytesOfMissing;
    const capacity = this.capacity(ocaId);
    if (used + need > capacity) {
      return {
        ok: false,
        ocaId,
        titleId,
        code: "insufficient_capacity",
        message: `${ocaId} holds ${used} of ${capacity} bytes; ${titleId} needs ${need} more`,
      };
    }

    const peers = await this.holdersOf(titleId);
    const parents = parentChain(site);
    const parentHolders: Array<Record<string, string> | null> = parents.map(() => null);
    const bySource: Record<FillSource, number> = { peer: 0, parent: 0, origin: 0 };
    const dest = this.bucket(site);
    let bytes = 0;

    for (const f of missing) {
      // Reserve the space first so a crash mid-copy never leaves a copy counted as ready.
      this.sql.exec(
        `INSERT OR REPLACE INTO holdings (oca_id, title_id, path, bytes, sha256, state, source, updated_at) VALUES (?, ?, ?, ?, ?, 'filling', NULL, ?)`,
        ocaId,
        titleId,
        f.path,
        f.bytes,
        f.sha256,
        Date.now(),
      );
      let source: FillSource = "origin";
      let src: R2ObjectBody | null = null;
      const peer = peers[f.path];
      if (peer && peer !== ocaId) {
        src = await dest.get(ocaKey(site.id, peer, titleId, f.path));
        if (src) source = "peer";
      }
      for (let i = 0; !src && i < parents.length; i++) {
        parentHolders[i] ??= await this.env.OCA_SITE.get(this.env.OCA_SITE.idFromName(parents[i].id)).holdersOf(titleId);
        const holder = parentHolders[i]![f.path];
        if (holder) {
          src = await this.bucket(parents[i]).get(ocaKey(parents[i].id, holder, titleId, f.path));
          if (src) source = "parent";
        }
      }
      if (!src) src = await this.env.ORIGIN.get(originKey(titleId, f.path));
      if (!src) {
        return { ok: false, ocaId, titleId, code: "copy_failed", message: `${f.path} is missing from origin` };
      }
      const destKey = ocaKey(site.id, ocaId, titleId, f.path);
      try {
        const { readable, writable } = new FixedLengthStream(src.size);
        const [, put] = await Promise.all([
          src.body.pipeTo(writable),
          dest.put(destKey, readable, { sha256: f.sha256, customMetadata: { sha256: f.sha256 } }),
        ]);
        const check = await dest.head(destKey);
        if (!put || !check || check.size !== f.bytes) throw new Error(`size mismatch: ${check?.size} != ${f.bytes}`);
      } catch (err) {
        await dest.delete(destKey);
        this.sql.exec(`DELETE FROM holdings WHERE oca_id = ? AND title_id = ? AND path = ?`, ocaId, titleId, f.path);
        return { ok: false, ocaId, titleId, code: "copy_failed", message: `${f.path} from ${source}: ${String(err)}` };
      }
      this.sql.exec(
        `UPDATE holdings SET state = 'ready', source = ?, updated_at = ? WHERE oca_id = ? AND title_id = ? AND path = ?`,
        source,
        Date.now(),
        ocaId,
        titleId,
        f.path,
      );
      bySource[source]++;
      bytes += f.bytes;
    }
    await this.publishTitle(ocaId, titleId, files);
    return { ok: true, ocaId, titleId, copied: missing.length, skipped: files.length - missing.length, bytes, bySource };
  }

  /** Publishes a complete copy to the steering view (only complete copies are steered to). */
  private async publishTitle(ocaId: string, titleId: string, files: TitleFile[]): Promise<void> {
    const now = Date.now();
    await this.env.DB.batch([
      this.env.DB.prepare(
        `INSERT OR REPLACE INTO oca_titles (site_id, oca_id, title_id, files, bytes, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
      ).bind(this.site.id, ocaId, titleId, files.length, files.reduce((s, f) => s + f.bytes, 0), now),
      this.env.DB.prepare(`INSERT OR IGNORE INTO oca_status (oca_id, site_id, health, updated_at) VALUES (?, ?, ?, ?)`).bind(
        ocaId,
        this.site.id,
        this.health(ocaId),
        now,
      ),
    ]);
  }

  /** Removes a title from an OCA: leaves the steering view first, then deletes the bytes. */
  async evictTitle(ocaId: string, titleId: string): Promise<{ files: number; bytes: number }> {
    await this.env.DB.prepare(`DELETE FROM oca_titles WHERE oca_id = ? AND title_id = ?`).bind(ocaId, titleId).run();
    const rows = this.sql
      .exec<{ path: string; bytes: number }>(`SELECT path, bytes FROM holdings WHERE oca_id = ? AND title_id = ?`, ocaId, titleId)
      .toArray();
    const bucket = this.bucket();
    for (let i = 0; i < rows.length; i += 500) {
      await bucket.delete(rows.slice(i, i + 500).map((r) => ocaKey(this.site.id, ocaId, titleId, r.path)));
    }
    this.sql.exec(`DELETE FROM holdings WHERE oca_id = ? AND title_id = ?`, ocaId, titleId);
    return { files: rows.length, bytes: rows.reduce((s, r) => s + r.bytes, 0) };
  }
}

/** All site ids of the topology, for fan-out by operators. */
export const siteIds = (): string[] => topology.sites.map((s) => s.id);
