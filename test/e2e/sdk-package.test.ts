/**
 * The SDK as a client developer gets it: built (which fails when the public API drifts from the
 * checked-in reports, client/etc/client.api.md and client-hls.api.md), packed with `npm pack`, installed from the tarball
 * into an empty folder with no network, and used by a small app that is type-checked against the
 * published declarations and run on Node.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const npm = (args: string[], cwd: string) => execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
let work: string;
let tarball: string;
let packed: Array<{ path: string }>;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "sdk-package-"));
  // Not --local: a public API that differs from the checked-in report fails the build.
  execFileSync("npm", ["run", "build:sdk"], { cwd: root, stdio: "pipe" });
  const out = JSON.parse(npm(["pack", "--json", "--pack-destination", work], join(root, "client"))) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  tarball = join(work, out[0].filename);
  packed = out[0].files;
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the SDK package", () => {
  it("ships a bundle and one declaration file per entry (the SDK, its hls.js helper), the README and the CHANGELOG, and nothing else", () => {
    expect(packed.map((f) => f.path).sort()).toEqual([
      "CHANGELOG.md",
      "README.md",
      "dist/hls.d.ts",
      "dist/hls.js",
      "dist/hls.js.map",
      "dist/index.d.ts",
      "dist/index.js",
      "dist/index.js.map",
      "package.json",
    ]);
  });

  it("installs from the tarball into an empty folder and builds and runs an app against it", () => {
    const app = join(work, "app");
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "example-app", private: true, type: "module" }));
    npm(["install", "--offline", "--no-audit", "--no-fund", tarball], app);
    expect(readdirSync(join(app, "node_modules", "@edge-video-cdn", "client"))).toContain("dist");
    writeFileSync(
      join(app, "main.ts"),
      `import { createClient, ERROR_CODES, SdkError, SessionEvents, type PlaySession, type SessionEventMap } from "@edge-video-cdn/client";

// A fetch that refuses the play request as the control plane would for a fifth stream.
const fetch = async () => ({
  ok: false, status: 409, headers: { get: () => null }, body: null,
  json: async () => ({}), arrayBuffer: async () => new ArrayBuffer(0),
  text: async () => JSON.stringify({ error: { code: "too_many_streams", message: "the plan allows 4 streams" } }),
});
const client = createClient({ baseUrl: "https://cdn.example", token: "t", fetch });
const onSwitch = (s: SessionEventMap["ocaSwitch"]): string => s.to.ocaId;
let session: PlaySession | null = null;
try {
  session = await client.play("some-title");
} catch (err) {
  if (!(err instanceof SdkError)) throw err;
  console.log(JSON.stringify({ code: err.code, name: err.errorName, severity: err.severity, apiCode: err.data.apiCode,
    event: SessionEvents.OCA_SWITCH, codes: Object.keys(ERROR_CODES).length, session, handler: typeof onSwitch }));
}
`,
    );
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, lib: ["ES2023", "DOM"], types: [], outDir: "out" },
        files: ["main.ts"],
      }),
    );
    // Type-checked against the published declarations (exports -> types), then compiled.
    execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", app], { cwd: app, stdio: "pipe" });
    const out = JSON.parse(execFileSync(process.execPath, [join(app, "out", "main.js")], { cwd: app, encoding: "utf8" })) as Record<string, unknown>;
    expect(out).toEqual({
      code: 2001,
      name: "PLAY_REQUEST_FAILED",
      severity: "fatal",
      apiCode: "too_many_streams",
      event: "ocaSwitch",
      codes: expect.any(Number),
      session: null,
      handler: "function",
    });
    expect(out.codes).toBeGreaterThan(10);
  });

  it("builds an hls.js app against the /hls entry with hls.js as the peer: one PlaySession type across both entries", () => {
    const app = join(work, "app");
    // hls.js from this repository's own install (no network): the peer an app brings.
    npm(["install", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", join(root, "node_modules", "hls.js")], app);
    writeFileSync(
      join(app, "player.ts"),
      `import Hls from "hls.js";
import { createClient, type PlaySession } from "@edge-video-cdn/client";
import { attachSession, createSdkLoader, sdkHlsConfig, type LoaderHooks } from "@edge-video-cdn/client/hls";

export async function start(video: HTMLVideoElement): Promise<() => void> {
  const session: PlaySession = await createClient({ baseUrl: "https://cdn.example", token: "t" }).play("some-title", { cmcd: "headers" });
  const hooks: LoaderHooks = { onFailover: (from, to) => console.log(from.ocaId, to.ocaId) };
  // The app's own loader, wrapped by composition.
  const Wrapped = createSdkLoader(session, Hls.DefaultConfig.loader, hooks);
  const hls = new Hls({ ...sdkHlsConfig(session, Hls, hooks, Wrapped), maxBufferLength: 20 });
  hls.attachMedia(video);
  hls.loadSource(session.play.steering.hls);
  return attachSession(hls, session, Hls, (bitrates) => bitrates.length - 1);
}
`,
    );
    writeFileSync(
      join(app, "tsconfig.hls.json"),
      JSON.stringify({
        compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, lib: ["ES2023", "DOM"], types: [], noEmit: true },
        files: ["player.ts"],
      }),
    );
    execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(app, "tsconfig.hls.json")], { cwd: app, stdio: "pipe" });
    // The entry loads on its own (its hls.js imports are types only).
    writeFileSync(join(app, "hls-entry.mjs"), `const m = await import("@edge-video-cdn/client/hls"); console.log(Object.keys(m).sort().join(","));`);
    expect(execFileSync(process.execPath, [join(app, "hls-entry.mjs")], { cwd: app, encoding: "utf8" }).trim()).toBe(
      "attachSession,createSdkLoader,sdkHlsConfig",
    );
  });

  it("exposes only its root entry: internals cannot be imported by path", () => {
    const app = join(work, "app");
    writeFileSync(join(app, "internal.mjs"), `import("@edge-video-cdn/client/dist/index.js").then(() => console.log("imported"), (e) => console.log(e.code));`);
    expect(execFileSync(process.execPath, [join(app, "internal.mjs")], { cwd: app, encoding: "utf8" }).trim()).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
  });
});
