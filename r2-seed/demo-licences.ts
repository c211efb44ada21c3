/** Demo licences: every title in the US; one title only there, so other countries get a 451. */
export interface DemoLicence {
  country: string;
  availableFrom: string;
  availableUntil?: string | null;
}

const FROM = "2024-01-01T00:00:00.000Z";
const all = (countries: string[]): DemoLicence[] => countries.map((country) => ({ country, availableFrom: FROM }));

export const DEMO_LICENCES: Record<string, DemoLicence[]> = {
  "sintel-sunrise": all(["US", "CA", "GB", "DE", "NL", "FR"]),
  "orbit-city": all(["US", "CA", "DE", "NL"]),
  // US only: a client in Germany or the Netherlands is refused with 451.
  "signal-test": all(["US"]),
};

/** Licences of a title; titles unknown here get the US only. */
export const licencesFor = (titleId: string): DemoLicence[] => DEMO_LICENCES[titleId] ?? all(["US"]);
