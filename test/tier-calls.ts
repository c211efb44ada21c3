import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import worker from "../workers/index";

/**
 * The tier bucket TIER_NA wrapped by a proxy that notes each call a request makes (`get key -` for a
 * whole read, `get key +options` for a range or a conditional): the one thing mocked by the colo cache's
 * tests, because R2 does not count its own calls. `sizeOf` overrides the size R2 reports for a key's
 * object (an object too large for a test to store).
 */
export function countedTier(calls: string[], sizeOf: (key: string) => number | undefined = () => undefined): R2Bucket {
  return countedBucket(env.TIER_NA, calls, sizeOf);
}

/** Any R2 bucket binding wrapped so, noting its calls into `calls` as countedTier does. */
export function countedBucket(bucket: R2Bucket, calls: string[], sizeOf: (key: string) => number | undefined = () => undefined): R2Bucket {
  const reported = (key: string, o: unknown) => {
    const size = sizeOf(key);
    if (!o || size === undefined) return o;
    return new Proxy(o as object, { get: (target, k) => (k === "size" ? size : Reflect.get(target, k)) });
  };
  return new Proxy(bucket, {
    get(target, key) {
      const value = Reflect.get(target, key) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(`${String(key)} ${String(args[0])}${key === "get" ? (args[1] ? " +options" : " -") : ""}`);
        const out = (value as (...a: unknown[]) => unknown).apply(target, args);
        return key === "head" || key === "get" ? (out as Promise<unknown>).then((o) => reported(String(args[0]), o)) : out;
      };
    },
  });
}

/** A GET to the Worker with the counting tier bucket; waits for its background work (the cache's fill). */
export async function getCounted(url: string, headers: Record<string, string> = {}, sizeOf?: (key: string) => number | undefined) {
  const calls: string[] = [];
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(url, { headers }), { ...env, TIER_NA: countedTier(calls, sizeOf) }, ctx);
  const body = new Uint8Array(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { res, body, calls, wholeReads: calls.filter((c) => c.startsWith("get ") && c.endsWith(" -")).length };
}
