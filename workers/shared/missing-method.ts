/**
 * Calls across a gradual deployment: an object still on the code before may lack a method the caller
 * has, and the caller falls back to what the object had then.
 */

/**
 * True when `err` is the runtime's answer to a call of `method` on an object that has no such method.
 * Deployed workerd says `The RPC receiver does not implement the method "m".`; the vitest plugin's
 * wrapper of Durable Objects (the tests' runtime) says `The RPC receiver does not implement "m".`.
 * Both are TypeErrors; any other error (a throw inside the method, a reset object) is not this.
 */
export function isMissingMethod(err: unknown, method: string): boolean {
  if (!(err instanceof Error) || err.name !== "TypeError") return false;
  const quoted = JSON.stringify(method);
  return err.message === `The RPC receiver does not implement the method ${quoted}.` || err.message === `The RPC receiver does not implement ${quoted}.`;
}
