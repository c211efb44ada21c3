// Secrets are not in wrangler.toml, so `wrangler types` cannot see them; declared here.
declare namespace Cloudflare {
  interface Env {
    /** HS256 secret that signs member tokens. */
    MEMBER_JWT_SECRET?: string;
    /** The member-token secret before the current one, accepted (never signed with) during a rotation. */
    MEMBER_JWT_SECRET_PREVIOUS?: string;
    /** JSON {"kid":"secret",...}: HMAC keys of OCA URL tokens. */
    URL_SIGNING_KEYS?: string;
    /** Bearer secret of the admin API. */
    ADMIN_TOKEN?: string;
  }
}
interface Env {
  MEMBER_JWT_SECRET?: string;
  MEMBER_JWT_SECRET_PREVIOUS?: string;
  URL_SIGNING_KEYS?: string;
  ADMIN_TOKEN?: string;
}
