import { describe, expect, it } from "vitest";
import { call } from "./fixtures";

describe("the worker", () => {
  it("answers unknown routes with the JSON error shape", async () => {
    const res = await call("/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: "no route GET /nope" } });
  });
});
