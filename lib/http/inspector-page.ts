/*
 * The inspector's page: plain HTML, shipped as a string (no build step, no CDN, no framework), with its style
 * (inspector-style.ts) and script (inspector-script.ts) as files of their own so that the page's CSP can forbid
 * anything inline. The HTML holds no data but the CSRF token; the script fetches JSON and writes every value as
 * text. What an operator asks first comes first: is the cache serving (the hit ratio), and if not, why.
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
<section id="summary" class="split">
<div>
<h2>Hit ratio</h2>
<p class="hint">Hits and stale copies served, over those plus misses (bypasses are not lookups).</p>
<dl class="ratios">
<div><dt>last 5 minutes</dt><dd id="ratio-recent">–</dd><dd id="ratio-recent-lookups" class="muted"></dd></div>
<div><dt>last hour</dt><dd id="ratio-hour">–</dd><dd id="ratio-hour-lookups" class="muted"></dd></div>
<div><dt>since start</dt><dd id="ratio-all">–</dd><dd id="ratio-all-lookups" class="muted"></dd></div>
</dl>
</div>
<div>
<h2>Why requests were not served from the cache</h2>
<table id="miss-reasons">
<thead><tr><th>what</th><th>why</th><th>requests</th><th>share</th></tr></thead>
<tbody></tbody>
</table>
</div>
</section>
<section>
<h2>Hit ratio per minute</h2>
<svg id="chart" viewBox="0 0 800 222" role="img" aria-label="hit ratio per minute"></svg>
<p class="hint" id="chart-range"></p>
</section>
<section>
<h2>Routes</h2>
<p class="hint">Per route pattern. Handler time saved: hits times the route's mean fill time (request in to entry
stored). Click a row to see its decisions.
<label class="inline">sort by <select id="route-sort">
<option value="handler">most handler runs (misses and bypasses)</option>
<option value="requests">most requests</option>
<option value="ratio">lowest hit ratio</option>
<option value="saved">most time saved</option>
</select></label></p>
<div class="scroll">
<table id="routes">
<thead><tr><th>route</th><th>requests</th><th>hit ratio</th><th>hits</th><th>misses</th><th>stale</th>
<th>bypassed, by reason</th><th>not stored, by reason</th><th>from cache</th><th>handler time saved</th></tr></thead>
<tbody></tbody>
</table>
</div>
</section>
<section>
<h2>Recent decisions</h2>
<form id="filter-form" class="filters">
<fieldset id="filter-events"><legend>outcome</legend></fieldset>
<label>route <select id="filter-route"><option value="">all routes</option></select></label>
<label>key or group contains <input id="filter-text" maxlength="512" autocomplete="off" spellcheck="false"></label>
<button id="pause" type="button" aria-pressed="false">Pause</button>
<output id="log-state" class="live">live</output>
</form>
<p id="filter-error" class="error" role="status"></p>
<div id="decisions-box" class="scroll log">
<table id="decisions">
<thead><tr><th>time (UTC)</th><th>decision</th><th>key</th><th>route</th><th>detail</th></tr></thead>
<tbody></tbody>
</table>
</div>
</section>
<section>
<h2>Counters</h2>
<dl id="counters" class="counters"></dl>
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
