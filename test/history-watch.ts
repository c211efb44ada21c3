import { env } from "cloudflare:test";

/**
 * `env` whose site objects call `onHistory(siteId)` before each `history` call (by the site's name); the
 * call then goes through, unless `onHistory` answers an error, which the call rejects with. Every other
 * call of the stub goes through as it is.
 */
export function historyWatchEnv(onHistory: (siteId: string) => Error | undefined): Env {
  const names = new Map<string, string>();
  const ns = env.OCA_SITE;
  const OCA_SITE = {
    idFromName(name: string) {
      const id = ns.idFromName(name);
      names.set(id.toString(), name);
      return id;
    },
    get(id: DurableObjectId) {
      const stub = ns.get(id);
      const name = names.get(id.toString()) ?? "?";
      return new Proxy(stub, {
        get(target, prop) {
          if (prop === "history") {
            return (from: number, to: number) => {
              const failure = onHistory(name);
              return failure ? Promise.reject(failure) : target.history(from, to);
            };
          }
          // A stub answers every name with an RPC method, called on the stub itself.
          if (prop === "id" || prop === "name" || typeof prop !== "string") return Reflect.get(target, prop);
          return (...args: unknown[]) => (target as unknown as Record<string, (...a: unknown[]) => unknown>)[prop](...args);
        },
      });
    },
  };
  return { ...env, OCA_SITE } as unknown as Env;
}
