import { describe, expect, it } from "vitest";
import { ADMIN, call, publishTitle } from "./fixtures";

/**
 * A licence is in effect over [availableFrom, availableUntil): one whose end is at or before its start
 * (dates swapped by an operator) is in effect at no moment, so the title could never be played there.
 * It is refused with a reason, and nothing of the registration is written.
 */
describe("a title's registration", () => {
  it("refuses a licence that ends at or before it starts with 400 invalid_licence, and writes nothing", async () => {
    const TITLE = "licence-window-title";
    const v1 = await publishTitle(TITLE);
    const described = async () =>
      (await (await call(`/admin/titles/${TITLE}`, { headers: ADMIN })).json()) as { title: { name: string }; licences: unknown[]; versions: unknown[] };
    const before = await described();
    for (const [from, until] of [
      ["2030-06-01T00:00:00.000Z", "2030-01-01T00:00:00.000Z"],
      ["2030-06-01T00:00:00.000Z", "2030-06-01T00:00:00.000Z"],
    ]) {
      const body = {
        name: "Swapped dates",
        durationS: 8,
        renditions: [{ id: "avc-240p", kind: "video", codec: "avc1.64001e", width: 426, height: 240, bandwidth: 400000 }],
        files: Object.entries(v1.files).map(([path, bytes]) => ({ path, bytes: bytes.byteLength, sha256: v1.sha[path] })),
        licences: [
          { country: "US", availableFrom: "2020-01-01T00:00:00.000Z" },
          { country: "DE", availableFrom: from, availableUntil: until },
        ],
      };
      const res = await call(`/admin/titles/${TITLE}`, {
        method: "PUT",
        headers: { ...ADMIN, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(res.status, `${from} .. ${until}`).toBe(400);
      const err = ((await res.json()) as { error: { code: string; message: string } }).error;
      expect(err).toMatchObject({ code: "invalid_licence", message: expect.stringContaining("DE") });
    }
    const after = await described();
    expect(after.title.name).toBe(`Fixture ${TITLE}`);
    expect(after.licences).toEqual(before.licences);
    expect(after.versions).toEqual(before.versions);
  });
});
