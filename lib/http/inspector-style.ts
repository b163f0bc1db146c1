/** The inspector page's style sheet, served as `inspector.css` (the CSP allows no inline style). */
export const INSPECTOR_CSS = `:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #fafafa; --muted: #666; --line: #ddd; --accent: #2563eb;
  --hit: #15803d; --miss: #b45309; --bad: #b91c1c; }
@media (prefers-color-scheme: dark) { :root { --fg: #eee; --bg: #16161a; --muted: #999; --line: #333; --accent: #60a5fa;
  --hit: #4ade80; --miss: #fbbf24; --bad: #f87171; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 1rem; padding: .75rem 1.25rem; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.2rem; margin: 0; }
h2 { font-size: 1rem; margin: 0 0 .5rem; }
main { padding: 1rem 1.25rem; display: grid; gap: 1.25rem; max-width: 1400px; }
#status { margin: 0; color: var(--muted); }
#status.error { color: var(--bad); }
.ratios { display: grid; grid-template-columns: repeat(3, 1fr); gap: .5rem; margin: 0; }
.ratios div { border: 1px solid var(--line); border-radius: 6px; padding: .5rem .75rem; }
.ratios dt { color: var(--muted); }
.ratios dd { margin: 0; }
#ratio-recent, #ratio-hour, #ratio-all { font-size: 2rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); font-size: .85rem; }
.counters { display: grid; grid-template-columns: repeat(auto-fill, minmax(120px, 1fr)); gap: .5rem; margin: 0; }
.counters div { border: 1px solid var(--line); border-radius: 6px; padding: .4rem .6rem; }
.counters dt { color: var(--muted); font-size: .8rem; }
.counters dd { margin: 0; font-size: 1.3rem; font-variant-numeric: tabular-nums; }
#chart { width: 100%; height: auto; max-height: 300px; border: 1px solid var(--line); border-radius: 6px; }
#chart .grid { stroke: var(--line); stroke-width: 1; }
#chart .axis { stroke: var(--muted); stroke-width: 1; }
#chart .tick, #chart .axis-title { fill: var(--muted); font-size: 11px; }
#chart .axis-title { font-size: 12px; }
#chart .ratio-line { fill: none; stroke: var(--accent); stroke-width: 2; }
#chart .ratio-point { fill: var(--accent); }
.hint { color: var(--muted); margin: .25rem 0; }
.split { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 1.25rem; }
.scroll { overflow: auto; }
.log { max-height: 28rem; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .2rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td { overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: normal; }
#routes td:nth-child(n+2):nth-child(-n+6), #routes td:nth-child(n+9) { font-variant-numeric: tabular-nums; white-space: nowrap; }
#routes tbody tr { cursor: pointer; }
#routes tbody tr:hover { background: color-mix(in srgb, var(--accent) 10%, transparent); }
form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin-bottom: .5rem; }
fieldset { border: 1px solid var(--line); border-radius: 6px; display: flex; flex-wrap: wrap; gap: .1rem .6rem; margin: 0; }
label { display: flex; flex-direction: column; gap: .2rem; flex: 1 1 14rem; }
label.inline { flex: 0 0 auto; flex-direction: row; align-items: center; }
.filters label:not(.inline) { flex: 0 1 18rem; }
input:not([type]), select { font: inherit; padding: .3rem .4rem; }
button { font: inherit; padding: .3rem .8rem; cursor: pointer; }
button[aria-pressed="true"] { background: var(--miss); color: var(--bg); }
button.group { padding: 0 .4rem; margin: 0 .3rem .3rem 0; }
#log-state { padding: .3rem 0; }
#log-state.paused { color: var(--miss); font-weight: 600; }
#lookup-result dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0 0 .5rem; }
#lookup-result dt { color: var(--muted); }
#lookup-result dd { margin: 0; overflow-wrap: anywhere; }
h3 { font-size: .9rem; margin: .75rem 0 .25rem; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 20rem; overflow: auto; border: 1px solid var(--line);
  padding: .5rem; }
.ev-hit, .state-fresh { color: var(--hit); }
.ev-miss, .ev-stale, .state-stale, .kind-miss { color: var(--miss); }
.ev-invalidated, .ev-not-stored, .ev-evict, .ev-expire, .state-invalidated, .error, .kind-bypass, .kind-not-stored { color: var(--bad); }
.ok { color: var(--hit); }
`;
