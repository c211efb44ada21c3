import { describe, expect, it } from "vitest";
import { keepLicenceStarts, type ListedLicence } from "../../ingest/publish";

/**
 * A rerun of ingest without `--available-from` registers the title again with every licence starting
 * today. The catalogue reads a licence whose start moves later as a correction (the sessions granted
 * before the new start stop) and the fill as a launch, so licences already in effect keep their starts.
 * (Pure: the registration the CLI would send, against the licences the catalogue lists.)
 */
const NOW = Date.parse("2026-12-06T12:00:00Z");
const TODAY = "2026-12-06T00:00:00.000Z";
const listed: ListedLicence[] = [
  { country: "US", available_from: Date.parse("2026-09-01T00:00:00Z"), available_until: null },
  { country: "DE", available_from: Date.parse("2027-01-01T00:00:00Z"), available_until: null },
  { country: "FR", available_from: Date.parse("2026-01-01T00:00:00Z"), available_until: Date.parse("2026-06-01T00:00:00Z") },
];

describe("a rerun's licences", () => {
  it("keep the start of a licence in effect, and take the rerun's for one not yet or no longer in effect, or new", () => {
    const sent = ["US", "DE", "FR", "NL"].map((country) => ({ country, availableFrom: TODAY }));
    expect(keepLicenceStarts(sent, listed, NOW)).toEqual([
      { country: "US", availableFrom: "2026-09-01T00:00:00.000Z" },
      { country: "DE", availableFrom: TODAY },
      { country: "FR", availableFrom: TODAY },
      { country: "NL", availableFrom: TODAY },
    ]);
  });

  it("leave a start earlier than the catalogue's as sent, with its end", () => {
    const sent = [{ country: "US", availableFrom: "2026-01-01T00:00:00.000Z", availableUntil: "2027-01-01T00:00:00.000Z" }];
    expect(keepLicenceStarts(sent, listed, NOW)).toEqual(sent);
  });

  it("are as sent for a title the catalogue does not have", () => {
    const sent = [{ country: "US", availableFrom: TODAY }];
    expect(keepLicenceStarts(sent, [], NOW)).toEqual(sent);
  });
});
