/**
 * What the colo cache's entries that depend on this deployment's own D1 and origin (the catalogue view's
 * shared looks and loads, origin's withdrawn list) are keyed under: the Worker's version id. The Cache API
 * is shared by every Worker of a zone, so a staging Worker with its own database must never read
 * production's answers (nor production a staging takedown list); a new version starts its colo entries
 * afresh, which costs one D1 look per colo. Content-addressed entries (OCA copies, posters, manifests)
 * need no namespace: their bytes are the same whoever reads them.
 */
export function coloNamespace(env: { CF_VERSION_METADATA?: { id: string } }): string {
  const id = env.CF_VERSION_METADATA?.id ?? "";
  // A UUID deployed; anything else (a binding missing in a test's env) is still only URL-safe characters.
  return /^[0-9A-Za-z-]{1,64}$/.test(id) ? id : "unversioned";
}
