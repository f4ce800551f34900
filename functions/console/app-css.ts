/** The console's stylesheet: system fonts, no images, readable at any width. */
export const appCss = `:root {
  color-scheme: light dark;
  --fg: #1b1f23;
  --muted: #5b6470;
  --bg: #f4f5f7;
  --card: #fff;
  --line: #d8dce1;
  --accent: #07c160;
  --sent: #07c160;
  --failed: #d93025;
  --skipped: #9aa0a6;
  --error: #b3261e;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e6e8eb;
    --muted: #9aa3ad;
    --bg: #15181c;
    --card: #1e2227;
    --line: #343a41;
    --error: #ff8a80;
  }
}
* { box-sizing: border-box; }
/* The page shows and hides its parts with the hidden attribute; no display rule may undo it. */
[hidden] { display: none !important; }
body {
  margin: 0;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif;
  color: var(--fg);
  background: var(--bg);
}
.bar {
  display: flex;
  align-items: center;
  justify-content: space-between;
  padding: 0.5rem 1rem;
  background: var(--card);
  border-bottom: 1px solid var(--line);
}
h1 { font-size: 1.1rem; margin: 0; }
h2 { font-size: 1rem; margin: 0 0 0.75rem; }
h3 { font-size: 0.95rem; margin: 1.25rem 0 0.5rem; }
main { padding: 1rem; display: grid; gap: 1rem; max-width: 1280px; margin: 0 auto; }
.card {
  background: var(--card);
  border: 1px solid var(--line);
  border-radius: 6px;
  padding: 1rem;
}
.narrow { max-width: 420px; margin: 3rem auto; }
.head { display: flex; align-items: center; justify-content: space-between; gap: 1rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td .sub { display: block; color: var(--muted); font-size: 0.85em; }
tr.selected td { background: color-mix(in srgb, var(--accent) 10%, transparent); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
button {
  font: inherit;
  padding: 0.3rem 0.8rem;
  border: 1px solid var(--line);
  border-radius: 4px;
  background: var(--card);
  color: var(--fg);
  cursor: pointer;
}
button:hover:not(:disabled) { border-color: var(--accent); }
button:disabled { opacity: 0.5; cursor: not-allowed; }
button[type="submit"], #send-button { background: var(--accent); border-color: var(--accent); color: #fff; }
button.link { border: none; background: none; color: var(--accent); padding: 0; }
td button { padding: 0.1rem 0.5rem; margin: 0 0.25rem 0.25rem 0; }
input, select, textarea {
  font: inherit;
  width: 100%;
  padding: 0.3rem 0.45rem;
  border: 1px solid var(--line);
  border-radius: 4px;
  background: var(--card);
  color: var(--fg);
}
input[type="checkbox"] { width: auto; }
input[aria-invalid="true"], textarea[aria-invalid="true"] { border-color: var(--error); }
label { display: block; margin-bottom: 0.2rem; }
label.inline { display: inline-flex; align-items: center; gap: 0.4rem; }
.grid { display: grid; gap: 0.5rem 1rem; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); }
.field.wide { grid-column: 1 / -1; }
.field-msg { min-height: 1.2em; margin: 0.15rem 0 0; font-size: 0.85em; color: var(--error); }
.help { margin: 0.15rem 0 0; font-size: 0.85em; color: var(--muted); }
.msg { min-height: 1.2em; margin: 0.5rem 0; }
.msg.error { color: var(--error); }
.empty { color: var(--muted); }
.actions { display: flex; gap: 0.5rem; margin: 0.5rem 0; }
.upload { margin-top: 0.5rem; }
.upload input[type="file"] { width: auto; margin-right: 0.5rem; }
.summary { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0 0 0.75rem; }
.summary dt { color: var(--muted); }
.summary dd { margin: 0; }
.progress { min-width: 160px; }
.progress .track {
  display: flex;
  height: 10px;
  border-radius: 5px;
  overflow: hidden;
  background: color-mix(in srgb, var(--skipped) 25%, transparent);
}
.progress .sent { background: var(--sent); }
.progress .failed { background: var(--failed); }
.progress .skipped { background: var(--skipped); }
.progress .label { font-size: 0.85em; color: var(--muted); font-variant-numeric: tabular-nums; }
.status { white-space: nowrap; }
.errors { color: var(--error); }
`;
