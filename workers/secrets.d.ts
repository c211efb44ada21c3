// Secrets are not in wrangler.toml, so `wrangler types` cannot see them; declared here.
declare namespace Cloudflare {
  interface Env {
    /** HS256 secret that signs member tokens. */
    MEMBER_JWT_SECRET?: string;
    /** JSON {"kid":"secret",...}: HMAC keys of OCA URL tokens. */
    URL_SIGNING_KEYS?: string;
    /** Bearer secret of the admin API. */
    ADMIN_TOKEN?: string;
  }
}
interface Env {
  MEMBER_JWT_SECRET?: string;
  URL_SIGNING_KEYS?: string;
  ADMIN_TOKEN?: string;
}
