import { env } from "cloudflare:test";

/**
 * The D1 binding wrapped so that its calls fail or hang on cue (the one thing mocked: the local runtime
 * cannot make D1 fail or stall). Each statement's call and each batch can fail at once ("down", with
 * `message`) or hang until the test lets it go ("slow", a D1 call that would take its full 30 s).
 */

export interface D1Fault {
  mode: "up" | "down" | "slow";
  /** What a "down" call throws. */
  message: string;
  calls: number;
  /** Each call's SQL (a batch's statements joined). */
  sql: string[];
  /** Lets every hung call go on (to D1, as a slow call finally would). */
  release: () => void;
  gate: Promise<void>;
}

/** A fault switch for `faultyDb`: `mode` set now, or changed by the test as it goes. */
export function fault(mode: D1Fault["mode"] = "up", message = "injected: D1 unreachable"): D1Fault {
  const f = { mode, message, calls: 0, sql: [] } as unknown as D1Fault;
  f.gate = new Promise<void>((r) => (f.release = r));
  return f;
}

/** The binding (and every session made from it) with its calls counted and failing or hanging as `f` says. */
export function faultyDb(f: D1Fault): D1Database {
  const before = async (sql: string) => {
    f.calls++;
    f.sql.push(sql);
    if (f.mode === "down") throw new Error(f.message);
    if (f.mode === "slow") await f.gate;
  };
  const inner = new WeakMap<object, D1PreparedStatement>();
  const sqlOf = new WeakMap<object, string>();
  const statement = (s: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const p = new Proxy(s, {
      get(t, key) {
        const value = Reflect.get(t, key) as unknown;
        if (typeof value !== "function") return value;
        const fn = value as (...a: unknown[]) => unknown;
        if (key === "bind") return (...a: unknown[]) => statement(fn.apply(t, a) as D1PreparedStatement, sql);
        if (key === "first" || key === "all" || key === "run" || key === "raw")
          return async (...a: unknown[]) => {
            await before(sql);
            return fn.apply(t, a);
          };
        return fn.bind(t);
      },
    });
    inner.set(p, s);
    sqlOf.set(p, sql);
    return p;
  };
  const db = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, key) {
        const value = Reflect.get(t, key) as unknown;
        if (typeof value !== "function") return value;
        const fn = value as (...a: unknown[]) => unknown;
        if (key === "withSession") return (...a: unknown[]) => db(fn.apply(t, a) as object);
        if (key === "prepare") return (...a: unknown[]) => statement(fn.apply(t, a) as D1PreparedStatement, String(a[0]));
        if (key === "batch")
          return async (list: D1PreparedStatement[]) => {
            await before(list.map((s) => sqlOf.get(s) ?? "?").join("; "));
            return fn.call(
              t,
              list.map((s) => inner.get(s) ?? s),
            );
          };
        return fn.bind(t);
      },
    }) as T;
  return db(env.DB);
}
