import { describe, expect, it } from "vitest";
import { parseDevVars } from "../ingest/dev-vars";

describe("the .dev.vars parser the ingest CLI and npm start share", () => {
  it("reads the single-quoted values npm start writes, and double-quoted and bare ones", () => {
    const text = "# Local-only secrets\nDEV_MODE='true'\nADMIN_TOKEN='abc123'\nURL_SIGNING_KEYS='{\"k1\":\"ff\"}'\nA=\"x y\"\r\nB=plain\n  C = 'spaced' \n";
    const vars = parseDevVars(text);
    expect(vars.get("ADMIN_TOKEN")).toBe("abc123");
    expect(vars.get("DEV_MODE")).toBe("true");
    expect(vars.get("URL_SIGNING_KEYS")).toBe('{"k1":"ff"}');
    expect(vars.get("A")).toBe("x y");
    expect(vars.get("B")).toBe("plain");
    expect(vars.get("C")).toBe("spaced");
    expect(vars.has("#")).toBe(false);
    expect(vars.get("constructor")).toBeUndefined();
  });
});
