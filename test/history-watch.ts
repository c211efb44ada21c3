import { env } from "cloudflare:test";
import type { OcaSite } from "../durable-objects/oca-site";

/**
 * `env` whose site objects are what `wrap(stub, siteId)` makes of each real stub, by the site's name (a
 * wrapper may answer for a site without calling its stub: an object is made only when called).
 */
export function siteStubsEnv(wrap: (stub: DurableObjectStub, siteId: string) => object): Env {
  const names = new Map<string, string>();
  const ns = env.OCA_SITE;
  const OCA_SITE = {
    idFromName(name: string) {
      const id = ns.idFromName(name);
      names.set(id.toString(), name);
      return id;
    },
    get(id: DurableObjectId) {
      return wrap(ns.get(id), names.get(id.toString()) ?? "?");
    },
  };
  return { ...env, OCA_SITE } as unknown as Env;
}

/**
 * `env` whose site objects call `onHistory(siteId)` before each `history` call (by the site's name); the
 * call then goes through, unless `onHistory` answers an error, which the call rejects with. Every other
 * call of the stub goes through as it is.
 */
export function historyWatchEnv(onHistory: (siteId: string) => Error | undefined): Env {
  return siteStubsEnv(
    (stub, name) =>
      new Proxy(stub as DurableObjectStub<OcaSite>, {
        get(target, prop) {
          if (prop === "history") {
            return (from: number, to: number, openDay?: number) => {
              const failure = onHistory(name);
              return failure ? Promise.reject(failure) : target.history(from, to, openDay);
            };
          }
          // A stub answers every name with an RPC method, called on the stub itself.
          if (prop === "id" || prop === "name" || typeof prop !== "string") return Reflect.get(target, prop);
          return (...args: unknown[]) => (target as unknown as Record<string, (...a: unknown[]) => unknown>)[prop](...args);
        },
      }),
  );
}
