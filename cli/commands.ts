/*
 * The four commands, each on the library's own cache and Redis store (connect.ts), and what they print: a few
 * lines for a person, or one JSON object with `--json`.
 */
import type { InspectedEntry } from '../lib/engine/engine-types.js';
import { EXIT, type Invocation } from './args.js';
import type { Connection } from './connect.js';
import { prefixStats } from './redis-stats.js';

/** What a command answers: its exit code, and what to print (an object with --json, lines otherwise). */
export interface Answer {
  code: number;
  json: Record<string, unknown>;
  text: string;
}

/** The error a failed expiry names: the store's own cause rather than the cache's "queued for retry". */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: unknown })?.cause;
  const root = cause instanceof Error ? cause : error;
  return root instanceof Error ? root.message : String(root);
}

function failed(command: string, what: string, error: unknown): Answer {
  const code = (error as { code?: unknown })?.code;
  const message = `${what} failed: ${causeOf(error)}. It may or may not have been recorded; running it again is safe.`;
  return {
    code: EXIT.failed,
    json: { ok: false, command, error: { code: typeof code === 'string' ? code : 'ESTORE', message } },
    text: message,
  };
}

async function expire(invocation: Invocation, connection: Connection): Promise<Answer> {
  const groups = [...new Set(invocation.operands)];
  const started = performance.now();
  try {
    await connection.cache.expireGroups(groups);
  } catch (error) {
    return failed('expire', `expiring ${groups.length} group(s)`, error);
  }
  const ms = Math.round((performance.now() - started) * 100) / 100;
  const { prefix } = invocation.target;
  return {
    code: EXIT.ok,
    json: { ok: true, command: 'expire', prefix, groups, ms },
    text: `expired ${groups.length} group(s) under prefix ${prefix} on ${connection.where} in ${ms} ms: ${groups.join(', ')}`,
  };
}

async function expireKey(invocation: Invocation, connection: Connection): Promise<Answer> {
  const key = invocation.operands[0] as string;
  const started = performance.now();
  try {
    await connection.cache.expireKey(key);
  } catch (error) {
    return failed('expire-key', `expiring key ${JSON.stringify(key)}`, error);
  }
  const ms = Math.round((performance.now() - started) * 100) / 100;
  const { prefix } = invocation.target;
  return {
    code: EXIT.ok,
    json: { ok: true, command: 'expire-key', prefix, key, ms },
    text: `expired key ${JSON.stringify(key)} under prefix ${prefix} on ${connection.where} in ${ms} ms`,
  };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function describeEntry(entry: InspectedEntry): string {
  const now = entry.storedAt + entry.age;
  const lines = [
    ['key', JSON.stringify(entry.key)],
    ['state', entry.why === undefined ? entry.state : `${entry.state} (${entry.why})`],
    ['status', String(entry.status)],
    ['groups', entry.groups.length === 0 ? '(none)' : entry.groups.join(', ')],
    ['age', seconds(entry.age)],
    ['stored', new Date(entry.storedAt).toISOString()],
    ['fresh until', `${new Date(entry.freshUntil).toISOString()} (${seconds(entry.freshUntil - now)} from now)`],
    ['kept until', new Date(entry.staleUntil).toISOString()],
    ['size', `${entry.size} bytes (body ${entry.bodyBytes})`],
    ['id', JSON.stringify(entry.id)],
    ...entry.headers.map(([name, value]): [string, string] => [`header`, `${name}: ${Array.isArray(value) ? value.join(', ') : String(value)}`]),
  ];
  return lines.map(([label, value]) => `${(label as string).padEnd(12)}${value}`).join('\n');
}

async function inspect(invocation: Invocation, connection: Connection): Promise<Answer> {
  const key = invocation.operands[0] as string;
  let entry: InspectedEntry | undefined;
  try {
    entry = await connection.cache.inspect(key, { data: invocation.data });
  } catch (error) {
    return failed('inspect', `reading key ${JSON.stringify(key)}`, error);
  }
  const kind = invocation.data ? 'data key' : 'key';
  if (entry === undefined) {
    return {
      code: EXIT.notFound,
      json: { ok: true, command: 'inspect', found: false, key, data: invocation.data },
      text: `nothing is held under ${kind} ${JSON.stringify(key)} (prefix ${invocation.target.prefix})`,
    };
  }
  return {
    code: EXIT.ok,
    json: { ok: true, command: 'inspect', found: true, data: invocation.data, entry: { ...entry } },
    text: describeEntry(entry),
  };
}

async function stats(invocation: Invocation, connection: Connection): Promise<Answer> {
  let found: Awaited<ReturnType<typeof prefixStats>>;
  try {
    found = await prefixStats(connection.client, connection.store, invocation.entries);
  } catch (error) {
    return failed('stats', 'reading the stats', error);
  }
  const lines = [
    ['prefix', `${found.prefix} on ${connection.where} (${found.mode}, Redis ${found.redis.version})`],
    ['records', `${found.records} group/key expiry records`],
    ['epoch', found.epoch ?? '(none)'],
    ['last expiry', found.lastExpiry === null ? '(none)' : `${found.lastExpiry.name} at ${found.lastExpiry.at}`],
    ['longest ttl', found.longestTtlMs === null ? '(none seen)' : `${found.longestTtlMs} ms`],
    ['stream', `${found.stream.length} messages kept, ${found.stream.published} published`],
    ['entries', found.entries === null ? '(not counted: --entries)' : String(found.entries)],
    ['memory', `${found.redis.usedMemoryBytes} bytes used, maxmemory-policy ${found.redis.maxmemoryPolicy}`],
    ...found.warnings.map((warning): [string, string] => ['warning', warning]),
  ];
  return {
    code: EXIT.ok,
    json: { ok: true, command: 'stats', ...found },
    text: lines.map(([label, value]) => `${(label as string).padEnd(12)}${value}`).join('\n'),
  };
}

/** Runs the invocation's command on an open connection. */
export function runCommand(invocation: Invocation, connection: Connection): Promise<Answer> {
  switch (invocation.command) {
    case 'expire':
      return expire(invocation, connection);
    case 'expire-key':
      return expireKey(invocation, connection);
    case 'inspect':
      return inspect(invocation, connection);
    default:
      return stats(invocation, connection);
  }
}
