/**
 * The longest a play session (and its URL token) may live, whatever SESSION_TTL_S says: the control
 * plane caps the setting at it, and a site keeps a retired OCA's copies this long when it cannot know
 * the setting.
 */
export const MAX_SESSION_TTL_S = 7 * 86_400;
