/*
 * The inspector's page: plain HTML, CSS and JavaScript, shipped as strings (no build step, no CDN, no framework).
 * The HTML holds no data but the CSRF token; the script fetches JSON and writes every value with textContent
 * (never innerHTML: keys, groups and headers are chosen by whoever sends requests). Script and style are separate
 * files so that the page's CSP can forbid anything inline.
 */

// The page around its token: no data, only the frame the script fills.
const PAGE_BEFORE_TOKEN = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="group-cache-token" content="`;

const PAGE_AFTER_TOKEN = `">
<title>group-cache inspector</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="inspector.css">
<script src="inspector.js" defer></script>
</head>
<body>
<header>
<h1>group-cache inspector</h1>
<p id="status" role="status">connecting…</p>
</header>
<main>
<section>
<h2>Counters</h2>
<dl id="counters" class="counters"></dl>
</section>
<section>
<h2>Hit ratio</h2>
<p class="hint">Per poll: hits and stale copies served, over those plus misses (bypasses are not counted).</p>
<svg id="chart" viewBox="0 0 600 120" preserveAspectRatio="none" role="img" aria-label="hit ratio over time">
<line class="grid" x1="0" y1="10" x2="600" y2="10"></line>
<line class="grid" x1="0" y1="60" x2="600" y2="60"></line>
<line class="grid" x1="0" y1="110" x2="600" y2="110"></line>
<polyline id="chart-line" points=""></polyline>
</svg>
<p class="legend"><span>100%</span> top, <span>0%</span> bottom; latest: <output id="ratio-now">–</output></p>
</section>
<section class="split">
<div>
<h2>Bypassed, by reason</h2>
<table id="bypass-reasons"><tbody></tbody></table>
</div>
<div>
<h2>Not stored, by reason</h2>
<table id="not-stored-reasons"><tbody></tbody></table>
</div>
</section>
<section class="split">
<div>
<h2>Look up a key</h2>
<form id="lookup-form">
<label>Key <input id="lookup-key" name="key" required maxlength="8192" autocomplete="off" spellcheck="false"></label>
<label class="inline"><input id="lookup-data" type="checkbox"> data key (getOrSet)</label>
<button id="lookup-button" type="submit">Look up</button>
</form>
<div id="lookup-result"></div>
</div>
<div>
<h2>Expire a group</h2>
<form id="expire-form">
<label>Group <input id="expire-group" name="group" required maxlength="8192" autocomplete="off" spellcheck="false"></label>
<button id="expire-button" type="submit">Expire</button>
</form>
<p id="expire-result" role="status"></p>
</div>
</section>
<section>
<h2>Recent decisions</h2>
<table id="decisions">
<thead><tr><th>time</th><th>decision</th><th>key</th><th>route</th><th>detail</th></tr></thead>
<tbody></tbody>
</table>
</section>
</main>
</body>
</html>
`;

/** The page, with the inspector's CSRF token in a meta tag for its script to send back on POSTs. */
export function inspectorHtml(token: string): string {
  // The token is checked to be base64url-like; filtered again here, as a page built from a string should be.
  const safe = token.replace(/[^A-Za-z0-9_-]/g, '');
  return PAGE_BEFORE_TOKEN + safe + PAGE_AFTER_TOKEN;
}

export const INSPECTOR_CSS = `:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #fafafa; --muted: #666; --line: #ddd; --accent: #2563eb;
  --hit: #15803d; --miss: #b45309; --bad: #b91c1c; }
@media (prefers-color-scheme: dark) { :root { --fg: #eee; --bg: #16161a; --muted: #999; --line: #333; --accent: #60a5fa;
  --hit: #4ade80; --miss: #fbbf24; --bad: #f87171; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 1rem; padding: .75rem 1.25rem; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.2rem; margin: 0; }
h2 { font-size: 1rem; margin: 0 0 .5rem; }
main { padding: 1rem 1.25rem; display: grid; gap: 1.25rem; max-width: 1200px; }
#status { margin: 0; color: var(--muted); }
#status.error { color: var(--bad); }
.counters { display: grid; grid-template-columns: repeat(auto-fill, minmax(120px, 1fr)); gap: .5rem; margin: 0; }
.counters div { border: 1px solid var(--line); border-radius: 6px; padding: .4rem .6rem; }
.counters dt { color: var(--muted); font-size: .8rem; }
.counters dd { margin: 0; font-size: 1.3rem; font-variant-numeric: tabular-nums; }
#chart { width: 100%; height: 120px; border: 1px solid var(--line); border-radius: 6px; }
#chart .grid { stroke: var(--line); stroke-width: 1; }
#chart-line { fill: none; stroke: var(--accent); stroke-width: 2; vector-effect: non-scaling-stroke; }
.hint, .legend { color: var(--muted); margin: .25rem 0; }
.split { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1.25rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .2rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td { overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: normal; }
form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin-bottom: .5rem; }
label { display: flex; flex-direction: column; gap: .2rem; flex: 1 1 14rem; }
label.inline { flex: 0 0 auto; flex-direction: row; align-items: center; }
input:not([type]) { font: inherit; padding: .3rem .4rem; }
button { font: inherit; padding: .3rem .8rem; cursor: pointer; }
button.group { padding: 0 .4rem; margin: 0 .3rem .3rem 0; }
#lookup-result dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0 0 .5rem; }
#lookup-result dt { color: var(--muted); }
#lookup-result dd { margin: 0; overflow-wrap: anywhere; }
h3 { font-size: .9rem; margin: .75rem 0 .25rem; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 20rem; overflow: auto; border: 1px solid var(--line);
  padding: .5rem; }
.ev-hit, .state-fresh { color: var(--hit); }
.ev-miss, .ev-stale, .state-stale { color: var(--miss); }
.ev-invalidated, .ev-not-stored, .ev-evict, .ev-expire, .state-invalidated, .error { color: var(--bad); }
.ok { color: var(--hit); }
`;

export const INSPECTOR_JS = `'use strict';
(() => {
  const POLL_MS = 1000;
  const MAX_ROWS = 200;
  const MAX_POINTS = 120;
  const COUNTERS = ['hits', 'misses', 'stale', 'invalidated', 'bypasses', 'stores', 'refused', 'waits', 'expires',
    'errors', 'evictions', 'entries', 'bytes', 'pendingExpiries'];
  const EVENTS = ['hit', 'miss', 'stale', 'invalidated', 'bypass', 'store', 'not-stored', 'evict', 'expire'];
  const STATES = ['fresh', 'stale', 'invalidated'];
  const token = document.querySelector('meta[name="group-cache-token"]').getAttribute('content');
  const $ = (id) => document.getElementById(id);

  // Every value reaches the page through this: text, never markup.
  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  function row(cells) {
    const tr = el('tr');
    for (const cell of cells) tr.append(cell instanceof Node ? cell : el('td', cell));
    return tr;
  }
  function bytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1048576).toFixed(1) + ' MiB';
  }
  function clock(ms) {
    return new Date(ms).toISOString().slice(11, 23);
  }
  async function call(path, init) {
    const response = await fetch(path, Object.assign({ credentials: 'same-origin', cache: 'no-store' }, init));
    let body = {};
    try {
      body = await response.json();
    } catch (e) {
      body = { error: 'HTTP ' + response.status };
    }
    return { status: response.status, ok: response.ok, body };
  }

  const counterNodes = {};
  for (const name of COUNTERS.concat(['hitRatio'])) {
    const box = el('div');
    box.append(el('dt', name === 'hitRatio' ? 'hit ratio (all)' : name));
    counterNodes[name] = el('dd', '–');
    counterNodes[name].id = 'counter-' + name;
    box.append(counterNodes[name]);
    $('counters').append(box);
  }

  function ratio(hits, stale, misses) {
    const lookups = hits + stale + misses;
    return lookups === 0 ? null : (hits + stale) / lookups;
  }
  function percent(value) {
    return value === null ? '–' : (value * 100).toFixed(1) + '%';
  }

  let previous = null;
  const points = [];
  function drawChart() {
    const step = 600 / (MAX_POINTS - 1);
    const offset = MAX_POINTS - points.length;
    const coords = [];
    points.forEach((value, i) => {
      if (value !== null) coords.push(((offset + i) * step).toFixed(1) + ',' + (110 - value * 100).toFixed(1));
    });
    // One point alone draws nothing as a line: double it.
    if (coords.length === 1) coords.push(coords[0]);
    $('chart-line').setAttribute('points', coords.join(' '));
  }

  function reasons(tableId, counts) {
    const rows = Object.keys(counts).filter((k) => counts[k] > 0).map((k) => row([k, counts[k].toLocaleString()]));
    if (rows.length === 0) rows.push(row(['none yet', '']));
    $(tableId).tBodies[0].replaceChildren(...rows);
  }

  function showStats(stats) {
    for (const name of COUNTERS) {
      const value = Number(stats[name]) || 0;
      counterNodes[name].textContent = name === 'bytes' ? bytes(value) : value.toLocaleString();
    }
    counterNodes.hitRatio.textContent = percent(ratio(stats.hits, stats.stale, stats.misses));
    if (previous !== null) {
      const now = ratio(stats.hits - previous.hits, stats.stale - previous.stale, stats.misses - previous.misses);
      points.push(now);
      if (points.length > MAX_POINTS) points.shift();
      if (now !== null) $('ratio-now').textContent = percent(now);
      drawChart();
    }
    previous = stats;
    reasons('bypass-reasons', stats.bypassReasons || {});
    reasons('not-stored-reasons', stats.notStoredReasons || {});
  }

  function detail(d) {
    if (d.event === 'store') return bytes(d.bytes) + ' stored';
    if (d.event === 'expire') {
      const parts = [];
      if (d.groups && d.groups.length) parts.push('groups: ' + d.groups.join(', '));
      if (d.keys && d.keys.length) parts.push('keys: ' + d.keys.join(', '));
      if (d.more) parts.push('and ' + d.more + ' more');
      return parts.join('; ');
    }
    return d.reason || '';
  }

  let lastSeq = 0;
  function showDecisions(answer) {
    if (answer.seq < lastSeq) lastSeq = 0; // a new inspector: start over
    const body = $('decisions').tBodies[0];
    for (const d of answer.decisions) {
      if (d.seq <= lastSeq) continue;
      const kind = el('td', d.event, EVENTS.includes(d.event) ? 'ev-' + d.event : undefined);
      body.prepend(row([clock(d.at), kind, d.key !== undefined ? d.key : d.id || '', d.where || '', detail(d)]));
      lastSeq = d.seq;
    }
    while (body.rows.length > MAX_ROWS) body.lastElementChild.remove();
  }

  function setStatus(text, failed) {
    $('status').textContent = text;
    $('status').className = failed ? 'error' : '';
  }

  let timer;
  async function poll() {
    clearTimeout(timer);
    try {
      if (!document.hidden) {
        const [stats, decisions] = await Promise.all([call('api/stats'), call('api/decisions?since=' + lastSeq)]);
        if (!stats.ok) throw new Error(stats.body.error || 'HTTP ' + stats.status);
        showStats(stats.body.stats);
        if (decisions.ok) showDecisions(decisions.body);
        setStatus('updated ' + clock(stats.body.at), false);
      }
    } catch (error) {
      setStatus('cannot reach the inspector: ' + error.message, true);
    }
    clearTimeout(timer); // an expire's own poll may have overlapped this one: keep a single loop
    timer = setTimeout(poll, POLL_MS);
  }

  function field(list, name, value, className) {
    list.append(el('dt', name));
    list.append(el('dd', value, className));
  }

  function showEntry(answer) {
    const out = $('lookup-result');
    const entry = answer.body;
    if (answer.status === 404) {
      out.replaceChildren(el('p', 'Nothing is stored for this key.'));
      return;
    }
    if (!answer.ok) {
      out.replaceChildren(el('p', entry.error || 'HTTP ' + answer.status, 'error'));
      return;
    }
    const list = el('dl');
    field(list, 'key', entry.key);
    field(list, 'state', entry.state, STATES.includes(entry.state) ? 'state-' + entry.state : undefined);
    if (entry.why) field(list, 'why', entry.why);
    field(list, 'status', entry.status);
    field(list, 'age', (entry.age / 1000).toFixed(1) + ' s');
    field(list, 'fresh until', new Date(entry.freshUntil).toISOString());
    field(list, 'size', bytes(entry.size) + ' (body ' + bytes(entry.bodyBytes) + ')');
    list.append(el('dt', 'groups'));
    const groups = el('dd');
    groups.id = 'lookup-groups';
    for (const group of entry.groups) {
      const button = el('button', group, 'group');
      button.type = 'button';
      button.title = 'put this group in the expire form';
      button.addEventListener('click', () => {
        $('expire-group').value = group;
        $('expire-group').focus();
      });
      groups.append(button);
    }
    if (entry.groups.length === 0) groups.textContent = 'none';
    list.append(groups);
    const headers = el('table');
    headers.append(el('tbody'));
    for (const [name, value] of entry.headers) headers.tBodies[0].append(row([name, Array.isArray(value) ? value.join(', ') : value]));
    const parts = [list, el('h3', 'Headers'), headers];
    if (entry.body !== undefined) parts.push(el('h3', entry.bodyTruncated ? 'Body (cut)' : 'Body'), el('pre', entry.body));
    out.replaceChildren(...parts);
  }

  $('lookup-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = $('lookup-key').value;
    const query = 'key=' + encodeURIComponent(key) + ($('lookup-data').checked ? '&data=1' : '');
    try {
      showEntry(await call('api/entry?' + query));
    } catch (error) {
      $('lookup-result').replaceChildren(el('p', error.message, 'error'));
    }
  });

  $('expire-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const group = $('expire-group').value;
    const out = $('expire-result');
    try {
      const answer = await call('api/expire', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-group-cache-token': token },
        body: JSON.stringify({ groups: [group] }),
      });
      out.textContent = answer.ok ? 'Expired group ' + JSON.stringify(group) + '.' : answer.body.error;
      out.className = answer.ok ? 'ok' : 'error';
    } catch (error) {
      out.textContent = error.message;
      out.className = 'error';
    }
    poll();
  });

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) poll();
  });
  poll();
})();
`;
