import { describe, expect, it } from "vitest";
import { keepListedLicences, type ListedLicence } from "../../ingest/publish";

/**
 * A rerun of ingest without `--available-from` registers the title again with every licence starting
 * today and no end. The catalogue reads a licence whose start moves later as a correction (the sessions
 * granted before the new start stop) and the fill as a launch; a dropped end would never end, and an
 * ended licence would come back. So the licences the catalogue lists are kept as they are.
 * (Pure: the registration the CLI would send, against the licences the catalogue lists.)
 */
const TODAY = "2026-12-06T00:00:00.000Z";
const listed: ListedLicence[] = [
  { country: "US", available_from: Date.parse("2026-09-01T00:00:00Z"), available_until: Date.parse("2027-09-01T00:00:00Z") },
  { country: "DE", available_from: Date.parse("2027-01-01T00:00:00Z"), available_until: null },
  { country: "FR", available_from: Date.parse("2026-01-01T00:00:00Z"), available_until: Date.parse("2026-06-01T00:00:00Z") },
];

describe("a rerun's licences", () => {
  it("keep the catalogue's start and end for every country it lists (in effect, not yet, or ended), and take the rerun's for a new one", () => {
    const sent = ["US", "DE", "FR", "NL"].map((country) => ({ country, availableFrom: TODAY }));
    expect(keepListedLicences(sent, listed)).toEqual([
      { country: "US", availableFrom: "2026-09-01T00:00:00.000Z", availableUntil: "2027-09-01T00:00:00.000Z" },
      { country: "DE", availableFrom: "2027-01-01T00:00:00.000Z", availableUntil: null },
      { country: "FR", availableFrom: "2026-01-01T00:00:00.000Z", availableUntil: "2026-06-01T00:00:00.000Z" },
      { country: "NL", availableFrom: TODAY },
    ]);
  });

  it("are as sent for a title the catalogue does not have", () => {
    const sent = [{ country: "US", availableFrom: TODAY }];
    expect(keepListedLicences(sent, [])).toEqual(sent);
  });
});
