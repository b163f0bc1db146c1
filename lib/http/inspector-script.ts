/*
 * The inspector page's script, part three: the decision log (filtered on the server by outcome, route and key
 * text; paused while the reader points at it, scrolls it, or presses Pause), the key lookup, the expire form, and
 * the poll loop. The three parts run in one block: one scope, nothing global but what the browser gives.
 */
import { SCRIPT_BASE } from './inspector-script-base.js';
import { SCRIPT_CHARTS } from './inspector-script-charts.js';

const SCRIPT_LOG = `
const MAX_ROWS = 200;
let lastSeq = 0;
// Bumped by each new filter: an answer to a request sent under an older filter is dropped.
let generation = 0;
const pending = [];
const pause = { button: false, pointer: false, scrolled: false };

for (const name of EVENTS) {
  const label = el('label', undefined, 'inline ev-' + name);
  const box = el('input');
  box.type = 'checkbox';
  box.value = name;
  box.checked = true;
  box.id = 'filter-event-' + name;
  label.append(box, document.createTextNode(' ' + name));
  $('filter-events').append(label);
}

function chosenEvents() {
  return Array.from(document.querySelectorAll('#filter-events input:checked'), (box) => box.value);
}

function decisionQuery() {
  const events = chosenEvents();
  let query = 'since=' + lastSeq;
  if (events.length < EVENTS.length) query += '&event=' + encodeURIComponent(events.join(','));
  if ($('filter-route').value) query += '&route=' + encodeURIComponent($('filter-route').value);
  if ($('filter-text').value) query += '&q=' + encodeURIComponent($('filter-text').value);
  return query;
}

function plural(n, word) {
  return n + ' ' + word + (n === 1 ? '' : 's');
}

// An expiry names what caused it (the write's method, route, status and request id) and how much it expired.
function expireDetail(d) {
  const t = d.trigger;
  const by = t
    ? 'triggered by ' + t.method + ' ' + t.route + ' → ' + t.status + (t.requestId ? ', request ' + t.requestId : '')
    : 'from code or a retry (no request)';
  const sizes = [];
  if (d.groupCount) sizes.push(plural(d.groupCount, 'group'));
  if (d.keyCount) sizes.push(plural(d.keyCount, 'key'));
  return by + '; ' + sizes.join(', ');
}

function detail(d) {
  if (d.event === 'store') return bytes(d.bytes) + ' stored, fill took ' + duration(d.ms);
  if (d.event === 'hit') return bytes(d.bytes) + ' from cache';
  if (d.event === 'expire') return expireDetail(d);
  return d.reason || '';
}

function keyCell(d) {
  if (d.event !== 'expire') return d.key !== undefined ? d.key : d.id || '';
  const names = (d.groups || []).concat(d.keys || []).join(', ');
  return d.more ? names + ' and ' + d.more + ' more' : names;
}

function decisionRow(d) {
  const kind = el('td', d.event, EVENTS.includes(d.event) ? 'ev-' + d.event : undefined);
  const tr = row([clock(d.at), kind, keyCell(d), d.where || '', detail(d)]);
  tr.className = 'row-' + d.event;
  return tr;
}

function render(list) {
  const body = $('decisions').tBodies[0];
  for (const d of list) body.prepend(decisionRow(d));
  while (body.rows.length > MAX_ROWS) body.lastElementChild.remove();
}

function isPaused() {
  return pause.button || pause.pointer || pause.scrolled;
}

function showLogState() {
  const state = $('log-state');
  const why = [pause.button && 'Pause pressed', pause.pointer && 'pointer on the log', pause.scrolled && 'log scrolled']
    .filter(Boolean).join(', ');
  state.textContent = isPaused() ? 'paused (' + why + ')' + (pending.length ? ': ' + pending.length + ' new' : '') : 'live';
  state.className = isPaused() ? 'paused' : 'live';
  $('pause').textContent = pause.button ? 'Resume' : 'Pause';
  $('pause').setAttribute('aria-pressed', String(pause.button));
}

function setPause(reason, on) {
  pause[reason] = on;
  if (!isPaused()) render(pending.splice(0));
  showLogState();
}

function showDecisions(answer, force) {
  if (answer.seq < lastSeq) lastSeq = 0; // a new inspector: start over
  const fresh = answer.decisions.filter((d) => d.seq > lastSeq);
  lastSeq = Math.max(lastSeq, answer.seq);
  if (isPaused() && !force) {
    pending.push(...fresh);
    if (pending.length > MAX_ROWS) pending.splice(0, pending.length - MAX_ROWS);
  } else {
    render(fresh);
  }
  showLogState();
}

async function pollDecisions(force) {
  if (chosenEvents().length === 0) return;
  const asked = generation;
  const answer = await call('api/decisions?' + decisionQuery());
  if (asked !== generation) return;
  if (answer.ok) showDecisions(answer.body, force);
  $('filter-error').textContent = answer.ok ? '' : answer.body.error;
}

// A new filter starts the log over, shown at once even while paused: the reader asked for it.
function refilter() {
  generation++;
  lastSeq = 0;
  pending.length = 0;
  $('decisions').tBodies[0].replaceChildren();
  pollDecisions(true).catch((error) => setStatus(error.message, true));
}

$('filter-events').addEventListener('change', refilter);
$('filter-route').addEventListener('change', refilter);
let typing;
$('filter-text').addEventListener('input', () => {
  clearTimeout(typing);
  typing = setTimeout(refilter, 300);
});
$('filter-form').addEventListener('submit', (event) => event.preventDefault());
$('pause').addEventListener('click', () => setPause('button', !pause.button));
$('decisions-box').addEventListener('mouseenter', () => setPause('pointer', true));
$('decisions-box').addEventListener('mouseleave', () => setPause('pointer', false));
$('decisions-box').addEventListener('scroll', () => setPause('scrolled', $('decisions-box').scrollTop > 0));
$('routes').tBodies[0].addEventListener('click', (event) => {
  const tr = event.target.closest('tr');
  if (!tr || !tr.dataset.route) return;
  $('filter-route').value = tr.dataset.route;
  refilter();
});
`;

const SCRIPT_FORMS = `
function field(list, name, value, className) {
  list.append(el('dt', name));
  list.append(el('dd', value, className));
}

function groupButtons(groups) {
  const dd = el('dd');
  dd.id = 'lookup-groups';
  for (const group of groups) {
    const button = el('button', group, 'group');
    button.type = 'button';
    button.title = 'put this group in the expire form';
    button.addEventListener('click', () => {
      $('expire-group').value = group;
      $('expire-group').focus();
    });
    dd.append(button);
  }
  if (groups.length === 0) dd.textContent = 'none';
  return dd;
}

function showEntry(answer) {
  const out = $('lookup-result');
  const entry = answer.body;
  if (answer.status === 404) return out.replaceChildren(el('p', 'Nothing is stored for this key.'));
  if (!answer.ok) return out.replaceChildren(el('p', entry.error || 'HTTP ' + answer.status, 'error'));
  const list = el('dl');
  field(list, 'key', entry.key);
  field(list, 'state', entry.state, STATES.includes(entry.state) ? 'state-' + entry.state : undefined);
  if (entry.why) field(list, 'why', entry.why);
  field(list, 'status', entry.status);
  field(list, 'age', (entry.age / 1000).toFixed(1) + ' s');
  field(list, 'fresh until', new Date(entry.freshUntil).toISOString());
  field(list, 'size', bytes(entry.size) + ' (body ' + bytes(entry.bodyBytes) + ')');
  list.append(el('dt', 'groups'), groupButtons(entry.groups));
  const headers = el('table');
  headers.append(el('tbody'));
  for (const [name, value] of entry.headers) headers.tBodies[0].append(row([name, Array.isArray(value) ? value.join(', ') : value]));
  const parts = [list, el('h3', 'Headers'), headers];
  if (entry.body !== undefined) parts.push(el('h3', entry.bodyTruncated ? 'Body (cut)' : 'Body'), el('pre', entry.body));
  out.replaceChildren(...parts);
}

$('lookup-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const query = 'key=' + encodeURIComponent($('lookup-key').value) + ($('lookup-data').checked ? '&data=1' : '');
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

let timer;
let slowAt = 0;
async function pollSlow() {
  const [history, routes] = await Promise.all([call('api/history'), call('api/routes')]);
  if (history.ok) drawChart(history.body);
  if (routes.ok) showRoutes(routes.body);
}

async function poll() {
  clearTimeout(timer);
  try {
    if (!document.hidden) {
      const stats = await call('api/stats');
      if (!stats.ok) throw new Error(stats.body.error || 'HTTP ' + stats.status);
      showStats(stats.body.stats);
      await pollDecisions(false);
      if (Date.now() >= slowAt) {
        slowAt = Date.now() + SLOW_POLL_MS;
        await pollSlow();
      }
      setStatus('updated ' + clock(stats.body.at) + ' UTC', false);
    }
  } catch (error) {
    setStatus('cannot reach the inspector: ' + error.message, true);
  }
  clearTimeout(timer); // an expire's own poll may have overlapped this one: keep a single loop
  timer = setTimeout(poll, POLL_MS);
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) poll();
});
showLogState();
poll();
`;

/** The page's script: its parts in one block (one scope, no globals), in strict mode. */
export const INSPECTOR_JS = `'use strict';\n{${SCRIPT_BASE}${SCRIPT_CHARTS}${SCRIPT_LOG}${SCRIPT_FORMS}}\n`;
