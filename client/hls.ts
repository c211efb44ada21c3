/**
 * `@edge-video-cdn/client/hls`: the SDK inside hls.js (a peer dependency), by composition. A separate
 * entry so that the root entry's declarations need no hls.js types.
 */
export { attachSession, createSdkLoader, sdkHlsConfig, type LoaderHooks } from "./player/hls-hook";
