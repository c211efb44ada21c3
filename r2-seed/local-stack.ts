import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildCatalogue, catalogueDir } from "./build-catalogue";
import type { Catalogue } from "./catalogue-types";
import { minimalPlacement, type Placement } from "./demo-placement";
import { startLocalWorker, type LocalWorker } from "./local-worker";
import { fillPlacement, seedCatalogue } from "./seed";

export { freePort } from "./local-worker";

export interface LocalStack {
  worker: LocalWorker;
  catalogue: Catalogue;
  adminToken: string;
  /** The HS256 secret of member tokens (load generators mint their own members with it). */
  memberSecret: string;
  stop(): Promise<void>;
}

/**
 * The whole product on this machine: the demo catalogue built with ffmpeg, `wrangler dev` on a free
 * port with its own throw-away local state and test secrets, origin and D1 seeded, OCAs filled.
 */
export async function startLocalStack(
  placement: (titleIds: string[]) => Placement[][] = minimalPlacement,
  opts: { /** Where the throw-away local state goes (default: the OS temp directory). */ stateParent?: string } = {},
): Promise<LocalStack> {
  const catalogue = await buildCatalogue({ onProgress: (m) => console.log(`[catalogue] ${m}`) });
  const persistTo = await mkdtemp(path.join(opts.stateParent ?? tmpdir(), "vcdn-e2e-"));
  const adminToken = randomBytes(16).toString("hex");
  const memberSecret = randomBytes(24).toString("hex");
  const worker = await startLocalWorker({
    persistTo,
    vars: {
      DEV_MODE: "true",
      ADMIN_TOKEN: adminToken,
      MEMBER_JWT_SECRET: memberSecret,
      URL_SIGNING_KEYS: JSON.stringify({ k1: randomBytes(24).toString("hex") }),
    },
  });
  const stop = async () => {
    await worker.stop();
    await rm(persistTo, { recursive: true, force: true });
  };
  try {
    const opts = { baseUrl: worker.url, adminToken, catalogue, cacheDir: catalogueDir(), onProgress: (m: string) => console.log(`[seed] ${m}`) };
    await seedCatalogue(opts);
    await fillPlacement(opts, placement(catalogue.titles.map((t) => t.id)));
  } catch (err) {
    console.error(worker.log());
    await stop();
    throw err;
  }
  return { worker, catalogue, adminToken, memberSecret, stop };
}

/** A dev member token and a play response, as a real client would get them. */
export async function pressPlay(stack: LocalStack, titleId: string, geo: string, plan = "premium") {
  const tok = (await (
    await fetch(`${stack.worker.url}/v1/dev/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      // A new member per play: a member may stream only as many titles at once as the plan allows.
      body: JSON.stringify({ memberId: `e2e-${randomBytes(6).toString("hex")}`, plan }),
    })
  ).json()) as { token: string };
  const res = await fetch(`${stack.worker.url}/v1/play`, {
    method: "POST",
    headers: { Authorization: `Bearer ${tok.token}`, "Content-Type": "application/json", "X-Client-Geo": geo },
    body: JSON.stringify({ titleId, device: { codecs: ["avc1", "mp4a"], maxHeight: 1080 } }),
  });
  return res;
}
