import { describe, expect, it } from "vitest";
import wranglerToml from "../wrangler.toml?raw";
import { PLAYS_PER_IP_PER_MINUTE, STEERING_POLLS_PER_IP_PER_MINUTE } from "../workers/control/limits";

/** The `simple.limit` of one `[[ratelimits]]` binding in wrangler.toml (the deployed value; tests lower some). */
function bindingLimit(name: string): number {
  const block = wranglerToml.split("[[ratelimits]]").find((b) => new RegExp(`^\\s*name\\s*=\\s*"${name}"`, "m").test(b));
  const limit = block && /simple\s*=\s*\{\s*limit\s*=\s*(\d+)/.exec(block);
  if (!limit) throw new Error(`no [[ratelimits]] ${name} with a simple limit in wrangler.toml`);
  return Number(limit[1]);
}

describe("the rate limits of wrangler.toml", () => {
  it("give the isolate's per-IP steering count the same limit as the STEERING_PER_IP binding", () => {
    expect(STEERING_POLLS_PER_IP_PER_MINUTE).toBe(bindingLimit("STEERING_PER_IP"));
  });

  it("give the isolate's per-IP play count the same limit as the PLAY_PER_IP binding", () => {
    expect(PLAYS_PER_IP_PER_MINUTE).toBe(bindingLimit("PLAY_PER_IP"));
  });
});
