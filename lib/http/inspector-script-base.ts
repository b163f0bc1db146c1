/*
 * The inspector page's script, part one: helpers every part uses. The script is plain JavaScript shipped as a
 * string (no build step); its parts share one block scope (see inspector-script.ts). Every value reaches the page
 * through `el()` / `svg()` as text, never as markup: keys, groups, routes and headers are chosen by whoever sends
 * requests.
 */
export const SCRIPT_BASE = `
const POLL_MS = 1000;
const SLOW_POLL_MS = 5000;
const SVG_NS = 'http://www.w3.org/2000/svg';
const EVENTS = ['hit', 'miss', 'stale', 'invalidated', 'bypass', 'store', 'not-stored', 'evict', 'expire'];
const STATES = ['fresh', 'stale', 'invalidated'];
const token = document.querySelector('meta[name="group-cache-token"]').getAttribute('content');
const $ = (id) => document.getElementById(id);

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const name of Object.keys(attributes)) node.setAttribute(name, String(attributes[name]));
  if (text !== undefined) node.textContent = String(text);
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
  if (n < 1073741824) return (n / 1048576).toFixed(1) + ' MiB';
  return (n / 1073741824).toFixed(2) + ' GiB';
}

function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return ms.toFixed(ms < 10 ? 1 : 0) + ' ms';
  if (ms < 120000) return (ms / 1000).toFixed(1) + ' s';
  if (ms < 7200000) return (ms / 60000).toFixed(1) + ' min';
  return (ms / 3600000).toFixed(1) + ' h';
}

function count(n) {
  return (Number(n) || 0).toLocaleString('en-US');
}

// Times are UTC, as the decision log's and the chart's labels say.
function clock(ms) {
  return new Date(ms).toISOString().slice(11, 23);
}

function minuteLabel(ms) {
  return new Date(ms).toISOString().slice(11, 16);
}

function ratio(hits, stale, misses) {
  const lookups = hits + stale + misses;
  return lookups === 0 ? null : (hits + stale) / lookups;
}

function percent(value) {
  return value === null || value === undefined ? '–' : (value * 100).toFixed(1) + '%';
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

function setStatus(text, failed) {
  $('status').textContent = text;
  $('status').className = failed ? 'error' : '';
}
`;
