import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { OcaSite } from "../durable-objects/oca-site";
import { openPlan } from "./fixtures";

/** A site's Durable Object by id, as the Worker reaches it. */
export const siteObject = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

/** Applies a plan for `byOca`, open for an hour, without letting its alarm run yet (the test runs it). */
export async function planWithoutAlarm(siteId: string, byOca: Record<string, string[]>): Promise<void> {
  await runInDurableObject(siteObject(siteId), async (o: OcaSite, state) => {
    await o.applyPlan(openPlan(byOca));
    await state.storage.deleteAlarm();
  });
}

/** The `n` a counting statement over the site object's own SQLite answers. */
export const countInSite = (siteId: string, q: string, ...args: SqlStorageValue[]) =>
  runInDurableObject(siteObject(siteId), async (_o, state) => state.storage.sql.exec<{ n: number }>(q, ...args).one().n);

/** Files the site's fill has copied this cycle, from peers, a parent and origin together. */
export async function copiedFiles(siteId: string): Promise<number> {
  const done = (await siteObject(siteId).lastCycle()).progress.done;
  return done.peer.files + done.parent.files + done.origin.files;
}

/** Runs the site's alarms (now) until it arms none, or `max` runs. */
export async function drainAlarms(siteId: string, max = 10): Promise<void> {
  await runInDurableObject(siteObject(siteId), (_o, state) => state.storage.setAlarm(Date.now()));
  for (let i = 0; i < max && (await runDurableObjectAlarm(siteObject(siteId))); i++);
}
