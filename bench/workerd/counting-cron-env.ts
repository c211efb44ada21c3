import { env } from "cloudflare:test";

/** Calls by kind: `do.<Class>.<method>`, `d1.read` / `d1.write`, `r2.<binding>.<method>`. */
export type CallCounts = Record<string, number>;

/** The subrequests the platform counts in `counts`: every site object call, D1 statement and R2 operation. */
export const subrequests = (counts: CallCounts): number =>
  Object.entries(counts)
    .filter(([k]) => k.startsWith("do.") || k.startsWith("d1.") || k.startsWith("r2."))
    .reduce((s, [, v]) => s + v, 0);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * `env` whose bindings count what an invocation asks of them, as test/capacity-counts.test.ts counts a
 * request's (the same keys), each call first waiting `delayMs` (a deployed round trip's stand-in: the
 * wall time it adds, over `delayMs`, is the round trips a turn waits for in sequence). The runtime does
 * not count its own calls: the bindings are the one thing wrapped.
 */
export function countingCronEnv(counts: CallCounts, delayMs = 0): Env {
  const add = (k: string) => {
    counts[k] = (counts[k] ?? 0) + 1;
  };
  const wait = () => (delayMs > 0 ? sleep(delayMs) : Promise.resolve());
  const calls = <T extends object>(target: T, label: (key: string) => string | null): T =>
    new Proxy(target, {
      get(t, key) {
        const v = Reflect.get(t, key) as unknown;
        if (typeof v !== "function" || typeof key !== "string") return v;
        const l = label(key);
        if (l === null) return (v as (...a: unknown[]) => unknown).bind(t);
        return async (...args: unknown[]) => {
          add(l);
          await wait();
          // Reflect.apply: on an RPC stub, `.apply` would itself be taken for a remote method.
          return Reflect.apply(v as (...a: unknown[]) => unknown, t, args);
        };
      },
    });
  const kind = (sql: string) => (/^\s*(INSERT|UPDATE|DELETE|REPLACE)/i.test(sql) ? "d1.write" : "d1.read");
  const statement = (st: D1PreparedStatement, sql: string): D1PreparedStatement =>
    new Proxy(st, {
      get(t, key) {
        const v = Reflect.get(t, key) as unknown;
        if (typeof v !== "function") return v;
        if (key === "bind") return (...a: unknown[]) => statement(Reflect.apply(v as (...x: unknown[]) => D1PreparedStatement, t, a), sql);
        if (!["all", "first", "run", "raw"].includes(String(key))) return (v as (...a: unknown[]) => unknown).bind(t);
        return async (...a: unknown[]) => {
          add(kind(sql));
          await wait();
          return Reflect.apply(v as (...x: unknown[]) => unknown, t, a);
        };
      },
    });
  const sqlOf = new WeakMap<object, string>();
  const db = <T extends D1Database | D1DatabaseSession>(d: T): T =>
    new Proxy(d, {
      get(t, key) {
        const v = Reflect.get(t, key) as unknown;
        if (key === "withSession") return (...a: unknown[]) => db((v as (...x: unknown[]) => D1DatabaseSession).apply(t, a));
        if (key === "prepare")
          return (q: string) => {
            const st = statement(t.prepare(q), q);
            sqlOf.set(st, q);
            return st;
          };
        if (key === "batch")
          return async (list: D1PreparedStatement[]) => {
            for (const st of list) add(kind(sqlOf.get(st) ?? ""));
            await wait();
            return t.batch(list);
          };
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
  const ns = env.OCA_SITE as unknown as DurableObjectNamespace;
  const OCA_SITE = new Proxy(ns, {
    get(t, key) {
      const v = Reflect.get(t, key) as unknown;
      if (key !== "get") return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      return (id: DurableObjectId) => calls(t.get(id) as unknown as object, (k) => (k === "then" ? null : `do.OcaSite.${k}`));
    },
  });
  const r2 = (name: string, b: R2Bucket) => calls(b, (k) => `r2.${name}.${k}`);
  return {
    ...env,
    DB: db(env.DB),
    ORIGIN: r2("origin", env.ORIGIN),
    TIER_NA: r2("tier", env.TIER_NA),
    TIER_EU: r2("tier", env.TIER_EU),
    OCA_SITE: OCA_SITE as unknown as Env["OCA_SITE"],
  };
}
