/** Vite's `?raw` imports (a file's text), which the workerd test pool bundles. */
declare module "*?raw" {
  const text: string;
  export default text;
}
