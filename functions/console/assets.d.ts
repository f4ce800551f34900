/** A console asset built into the bundle by infra/console-plugin.mjs: its text. */
declare module "*?bundle" {
  const text: string;
  export default text;
}
