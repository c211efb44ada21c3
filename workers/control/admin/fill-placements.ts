import { siteStub } from "../../shared/site-link";

/**
 * Site object calls one request makes at most (each is a subrequest; Workers Paid allows 10,000), and
 * how long it goes on starting them: what is left is answered 202, and the same request sent again
 * carries on (files copied stay copied).
 */
export const MAX_SITE_CALLS = 5_000;
export const MAX_FILL_MS = 5 * 60_000;

/** Files one site object call copies: `FILL_FILES_PER_CALL` (a deployment on a lower subrequest limit lowers it), else the object's own maximum. */
function filesPerCall(env: Env): number | undefined {
  const n = Number(env.FILL_FILES_PER_CALL);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

type Placement = { siteId: string; ocaId: string; titleId: string };
type Copies = { copied: number; skipped: number; bytes: number; bySource: Record<"peer" | "parent" | "origin", number> };

/**
 * Copies each (site, OCA, title) in as many calls of its site's object as the title's files need, in
 * order (one site at a time keeps peer copies possible: an earlier OCA of the site becomes a source),
 * within a budget of calls and time. 200 when every title is complete on its OCA, 409 when any copy
 * could not be made, 202 when the budget ran out first (the rest are `incomplete`).
 */
export async function fillPlacements(env: Env, pairs: Placement[], budget = { calls: MAX_SITE_CALLS, ms: MAX_FILL_MS }) {
  const perCall = filesPerCall(env);
  const started = Date.now();
  let calls = 0;
  const results: Array<Placement & Partial<Copies> & { ok: boolean; done?: boolean; code?: string; message?: string }> = [];
  for (const at of pairs) {
    const stub = siteStub(env, at.siteId);
    const sum: Copies = { copied: 0, skipped: 0, bytes: 0, bySource: { peer: 0, parent: 0, origin: 0 } };
    const stop = (code: string, message: string) => results.push({ ...at, ok: false, done: false, code, message, ...sum });
    let left = Number.POSITIVE_INFINITY;
    let stalls = 0;
    for (let first = true; ; first = false) {
      if (calls >= budget.calls || Date.now() - started > budget.ms) {
        stop("incomplete", "this request's budget ran out; send it again to carry on");
        break;
      }
      calls++;
      let r: Awaited<ReturnType<typeof stub.fillTitle>>;
      try {
        r = await stub.fillTitle(at.ocaId, at.titleId, perCall);
      } catch (err) {
        // The object was reset or overloaded: what other pairs did stands, and this one can be sent again.
        stop("site_error", `the site object failed: ${String(err).slice(0, 200)}`);
        break;
      }
      if (!r.ok) {
        results.push({ ...at, ...r, ...sum });
        break;
      }
      if (first) sum.skipped = r.skipped;
      sum.copied += r.copied;
      sum.bytes += r.bytes;
      for (const k of ["peer", "parent", "origin"] as const) sum.bySource[k] += r.bySource[k];
      if (r.done) {
        results.push({ ...at, ok: true, done: true, ...sum });
        break;
      }
      // Files copied and then gone again before the next call (evicted, pruned): copying more would not
      // end. One call that gains nothing is let pass (the title re-published mid-fill has new files to copy).
      stalls = r.remaining >= left ? stalls + 1 : 0;
      if (stalls >= 2) {
        stop("no_progress", `${r.remaining} files still to copy after two calls that copied ${r.copied} each: copies are removed as they are made`);
        break;
      }
      left = r.remaining;
    }
  }
  const ok = results.every((r) => r.ok);
  const failed = results.some((r) => r.code !== undefined && r.code !== "incomplete");
  return { ok, status: ok ? 200 : failed ? 409 : 202, results } as const;
}
