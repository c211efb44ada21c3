import { describe, expect, it } from "vitest";
import { EventReporter } from "../client/reporter";
import type { QoeEvent } from "../client/types";

// close() sends the session's last batch (its stop) as a final flush. An event pushed while that flush is
// still out comes after the session's end: it is refused, neither left in the queue for ever (no flush
// will ever come) nor sent after the stop (the server would count it as the stream's activity).

const tick = () => new Promise((r) => setTimeout(r, 10));

/** A reporter whose final requests wait for `answer()`, recording every request. */
function closingSlowly() {
  const sent: Array<{ types: string[]; final: boolean }> = [];
  const told: string[] = [];
  const answers: Array<() => void> = [];
  const r = new EventReporter({
    flushIntervalMs: 60_000,
    send: (events, { final }) => {
      sent.push({ types: events.map((e) => e.type), final });
      return final ? new Promise<void>((res) => answers.push(res)) : Promise.resolve();
    },
    onEvent: (e) => told.push(e.type),
  });
  const answer = () => {
    for (const a of answers.splice(0)) a();
  };
  return { r, sent, told, answer };
}

describe("a reporter closing", () => {
  it("refuses a routine event pushed while its final flush is out, rather than keep it queued for ever", async () => {
    const { r, sent, told, answer } = closingSlowly();
    r.push({ type: "start", startupMs: 800 } as QoeEvent);
    await tick();
    r.push({ type: "progress", positionS: 1 });
    const closed = r.close();
    await tick();
    r.push({ type: "rebuffer", durationMs: 300 });
    r.addBytes(1_000);
    answer();
    await closed;
    await r.flush();
    await tick();
    expect(r.queued).toBe(0);
    expect(sent.flatMap((s) => s.types)).toEqual(["start", "progress"]);
    expect(told).toEqual(["start", "progress"]);
  });

  it("sends nothing after its final flush when an urgent event is pushed during it", async () => {
    const { r, sent, answer } = closingSlowly();
    r.push({ type: "progress", positionS: 1 });
    r.push({ type: "stop", reason: "user" } as QoeEvent);
    await tick();
    r.push({ type: "rebuffer", durationMs: 300 });
    const closed = r.close();
    await tick();
    r.push({ type: "error", reason: "late" });
    answer();
    await closed;
    await tick();
    expect(sent.map((s) => s.types)).toEqual([["progress", "stop"], ["rebuffer"]]);
    expect(sent.at(-1)?.final).toBe(true);
    expect(r.queued).toBe(0);
  });
});
