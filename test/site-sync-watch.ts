import { afterEach, beforeEach } from "vitest";
import type { EdgeReport } from "../workers/shared/site-view";

/** A report a site's sync received, and when. */
export interface SentReport {
  at: number;
  report: EdgeReport;
}

/**
 * Watches every site object's syncs, which run in the tests' isolate: each report is noted as it
 * arrives (the newest of a call), then the sync runs as it is. `stop()` takes the watch off.
 */
export async function watchSyncs(): Promise<{ sent: SentReport[]; stop: () => void }> {
  const { OcaSite } = await import("../durable-objects/oca-site");
  const proto = OcaSite.prototype as unknown as { edgeSync: (report: EdgeReport | null, ...rest: unknown[]) => Promise<unknown> };
  const real = proto.edgeSync;
  const sent: SentReport[] = [];
  proto.edgeSync = async function (this: unknown, report: EdgeReport | null, ...rest: unknown[]) {
    if (report) sent.push({ at: Date.now(), report });
    return real.call(this, report, ...rest);
  };
  return {
    sent,
    stop: () => {
      proto.edgeSync = real;
    },
  };
}

/** Watches syncs through each test of the calling file: `sent` holds the current test's reports. */
export function syncsOfEachTest(): { sent: SentReport[] } {
  const syncs = { sent: [] as SentReport[] };
  let stop = () => {};
  beforeEach(async () => {
    ({ sent: syncs.sent, stop } = await watchSyncs());
  });
  afterEach(() => stop());
  return syncs;
}

/** The sites whose object takes a sync or a view call while it runs (site objects run in the tests' isolate). */
export async function sitesAskedDuring(run: () => Promise<void>): Promise<Set<string>> {
  const { OcaSite } = await import("../durable-objects/oca-site");
  const proto = OcaSite.prototype as unknown as Record<"edgeSync" | "steeringView", (...a: unknown[]) => Promise<unknown>>;
  const asked = new Set<string>();
  const real = { edgeSync: proto.edgeSync, steeringView: proto.steeringView };
  for (const method of ["edgeSync", "steeringView"] as const) {
    proto[method] = async function (this: { site: { id: string } }, ...a: unknown[]) {
      asked.add(this.site.id);
      return real[method].apply(this, a);
    };
  }
  try {
    await run();
  } finally {
    Object.assign(proto, real);
  }
  return asked;
}
