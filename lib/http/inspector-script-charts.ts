/*
 * The inspector page's script, part two: what the page shows first (the hit ratio, over the last minutes, the last
 * hour and since start, and why requests were not served from the cache), the per-minute chart with its axes, the
 * counters, and the route table. Shares the block scope of inspector-script-base.ts.
 */
export const SCRIPT_CHARTS = `
const COUNTERS = ['hits', 'misses', 'stale', 'invalidated', 'bypasses', 'stores', 'refused', 'waits', 'expires',
  'errors', 'evictions', 'entries', 'bytes', 'pendingExpiries'];
const MINUTE = 60000;
const CHART = { left: 56, right: 788, top: 12, bottom: 172 };
const TICK_MINUTES = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440];
let latestStats = null;
let latestHistory = null;

const counterNodes = {};
for (const name of COUNTERS) {
  const box = el('div');
  box.append(el('dt', name));
  counterNodes[name] = el('dd', '–');
  counterNodes[name].id = 'counter-' + name;
  box.append(counterNodes[name]);
  $('counters').append(box);
}

function showStats(stats) {
  latestStats = stats;
  for (const name of COUNTERS) {
    const value = Number(stats[name]) || 0;
    counterNodes[name].textContent = name === 'bytes' ? bytes(value) : count(value);
  }
  showSummary();
}

// The hit ratio of the history's buckets since \`from\`, and how many lookups it is made of.
function ratioSince(from) {
  let hits = 0, stale = 0, misses = 0;
  for (const b of latestHistory ? latestHistory.buckets : []) {
    if (b.at < from) continue;
    hits += b.hits;
    stale += b.stale;
    misses += b.misses;
  }
  return { value: ratio(hits, stale, misses), lookups: hits + stale + misses };
}

function showRatio(id, measured) {
  $(id).textContent = percent(measured.value);
  $(id + '-lookups').textContent = count(measured.lookups) + ' lookups';
}

// Why requests were not served from the cache: the misses (invalidated, or not held), bypasses and unstored
// fills by reason, most frequent first.
function missReasons(stats) {
  const reasons = [
    ['miss', 'invalidated by an expiry', stats.invalidated],
    ['miss', 'not cached yet, evicted, or past its TTL', Math.max(0, stats.misses - stats.invalidated)],
  ];
  for (const k of Object.keys(stats.bypassReasons || {})) reasons.push(['bypass', k, stats.bypassReasons[k]]);
  for (const k of Object.keys(stats.notStoredReasons || {})) reasons.push(['not stored', k, stats.notStoredReasons[k]]);
  return reasons.filter((r) => r[2] > 0).sort((a, b) => b[2] - a[2]);
}

function showSummary() {
  if (latestHistory) {
    const now = latestHistory.at;
    showRatio('ratio-recent', ratioSince(now - 5 * MINUTE));
    showRatio('ratio-hour', ratioSince(now - 60 * MINUTE));
  }
  if (!latestStats) return;
  const s = latestStats;
  showRatio('ratio-all', { value: ratio(s.hits, s.stale, s.misses), lookups: s.hits + s.stale + s.misses });
  const total = s.misses + s.bypasses;
  const rows = missReasons(s).map((r) =>
    row([el('td', r[0], 'kind-' + r[0].replace(' ', '-')), r[1], count(r[2]), total ? percent(r[2] / total) : '']));
  if (rows.length === 0) rows.push(row(['none', 'every request so far was served from the cache', '', '']));
  $('miss-reasons').tBodies[0].replaceChildren(...rows);
}

function tickStep(span) {
  for (const m of TICK_MINUTES) if (span / (m * MINUTE) <= 8) return m * MINUTE;
  return 1440 * MINUTE;
}

function chartAxes(start, end, x, y) {
  const parts = [];
  for (const r of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(svg('line', { class: 'grid', x1: CHART.left, x2: CHART.right, y1: y(r), y2: y(r) }));
    parts.push(svg('text', { class: 'tick tick-y', x: CHART.left - 6, y: y(r) + 4, 'text-anchor': 'end' }, r * 100 + '%'));
  }
  const step = tickStep(end - start);
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) {
    parts.push(svg('line', { class: 'axis', x1: x(t), x2: x(t), y1: CHART.bottom, y2: CHART.bottom + 5 }));
    parts.push(svg('text', { class: 'tick tick-x', x: x(t), y: CHART.bottom + 19, 'text-anchor': 'middle' }, minuteLabel(t)));
  }
  parts.push(svg('line', { class: 'axis', x1: CHART.left, x2: CHART.right, y1: CHART.bottom, y2: CHART.bottom }));
  parts.push(svg('line', { class: 'axis', x1: CHART.left, x2: CHART.left, y1: CHART.top, y2: CHART.bottom }));
  parts.push(svg('text', { class: 'axis-title', x: (CHART.left + CHART.right) / 2, y: CHART.bottom + 40,
    'text-anchor': 'middle' }, 'time (UTC), one point per minute'));
  parts.push(svg('text', { class: 'axis-title', x: 14, y: (CHART.top + CHART.bottom) / 2, 'text-anchor': 'middle',
    transform: 'rotate(-90 14 ' + (CHART.top + CHART.bottom) / 2 + ')' }, 'hit ratio'));
  return parts;
}

// One polyline per run of consecutive minutes with lookups, and a dot (with its numbers as a tooltip) per minute.
function chartLine(buckets, x, y) {
  const parts = [];
  let run = [];
  let previous = null;
  const flush = () => {
    if (run.length > 1) parts.unshift(svg('polyline', { class: 'ratio-line', points: run.join(' ') }));
    run = [];
  };
  for (const b of buckets) {
    const value = ratio(b.hits, b.stale, b.misses);
    if (value === null) continue;
    if (previous !== null && b.at - previous > MINUTE) flush();
    previous = b.at;
    const px = x(b.at + MINUTE / 2).toFixed(1);
    const py = y(value).toFixed(1);
    run.push(px + ',' + py);
    const dot = svg('circle', { class: 'ratio-point', cx: px, cy: py, r: 2.5 });
    const lookups = b.hits + b.stale + b.misses;
    dot.append(svg('title', {}, minuteLabel(b.at) + ' UTC: ' + percent(value) + ' of ' + count(lookups) + ' lookups'));
    parts.push(dot);
  }
  flush();
  return parts;
}

function drawChart(history) {
  latestHistory = history;
  const end = Math.floor(history.at / MINUTE) * MINUTE + MINUTE;
  const first = history.buckets.length > 0 ? history.buckets[0].at : end;
  // From the oldest minute held, and at least ten minutes wide.
  const start = Math.min(first, end - 10 * MINUTE);
  const x = (t) => CHART.left + ((t - start) / (end - start)) * (CHART.right - CHART.left);
  const y = (r) => CHART.bottom - r * (CHART.bottom - CHART.top);
  $('chart').replaceChildren(...chartAxes(start, end, x, y), ...chartLine(history.buckets, x, y));
  $('chart-range').textContent = minuteLabel(start) + '–' + minuteLabel(end) + ' UTC (kept: the last ' +
    duration(history.minutes * MINUTE) + ')';
  showSummary();
}

let routeRows = [];
const SORTS = {
  handler: (a, b) => b.misses + b.bypasses - (a.misses + a.bypasses) || b.requests - a.requests,
  requests: (a, b) => b.requests - a.requests,
  ratio: (a, b) => (a.hitRatio === null ? 2 : a.hitRatio) - (b.hitRatio === null ? 2 : b.hitRatio),
  saved: (a, b) => (b.savedMs || 0) - (a.savedMs || 0),
};

function reasonsText(total, reasons) {
  const names = Object.keys(reasons).sort((a, b) => reasons[b] - reasons[a]);
  const parts = names.map((name) => name + ' ' + count(reasons[name]));
  return parts.length > 0 ? count(total) + ' (' + parts.join(', ') + ')' : count(total);
}

function routeRow(r) {
  const misses = count(r.misses) + (r.invalidated > 0 ? ' (' + count(r.invalidated) + ' invalidated)' : '');
  const tr = row([r.route, count(r.requests), percent(r.hitRatio), count(r.hits), misses, count(r.stale),
    reasonsText(r.bypasses, r.bypassReasons), reasonsText(r.notStored, r.notStoredReasons), bytes(r.bytesFromCache),
    duration(r.savedMs)]);
  tr.dataset.route = r.route;
  tr.title = 'show this route in the decision log';
  return tr;
}

function renderRoutes() {
  const sorted = routeRows.slice().sort(SORTS[$('route-sort').value] || SORTS.handler);
  const rows = sorted.map(routeRow);
  if (rows.length === 0) rows.push(row(['no cached route has had a request yet']));
  $('routes').tBodies[0].replaceChildren(...rows);
}

let routeNames = '';
function showRoutes(answer) {
  routeRows = answer.routes;
  renderRoutes();
  // Rebuilt only when the routes changed: rebuilding would close the list while someone picks from it.
  const names = JSON.stringify(routeRows.map((r) => r.route));
  if (names === routeNames) return;
  routeNames = names;
  const select = $('filter-route');
  const chosen = select.value;
  const options = [el('option', 'all routes')];
  options[0].value = '';
  for (const r of routeRows) {
    const option = el('option', r.route);
    option.value = r.route;
    options.push(option);
  }
  select.replaceChildren(...options);
  select.value = routeRows.some((r) => r.route === chosen) ? chosen : '';
}

$('route-sort').addEventListener('change', renderRoutes);
`;
