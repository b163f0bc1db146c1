/*
 * The command line's words: what `group-cache <command> [options]` accepts, checked before anything connects, and
 * the help text. A mistake here is a UsageError (exit code 2), naming the word at fault.
 */
import { parseArgs } from 'node:util';

/** The exit codes, for scripts (docs/cli.md lists them). */
export const EXIT = {
  ok: 0,
  /** `inspect`: nothing is held under the key. */
  notFound: 1,
  /** Bad arguments (or ioredis is not installed). */
  usage: 2,
  /** Redis could not be reached: down, refused, unknown host, or refused the credentials. */
  unreachable: 3,
  /** Redis was reached, the command failed: a timeout, an error reply, replicas that did not acknowledge. */
  failed: 4,
} as const;

export const COMMANDS = ['expire', 'expire-key', 'inspect', 'stats'] as const;
export type Command = (typeof COMMANDS)[number];

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Where the cache lives and how to talk to it. */
export interface Target {
  /** `redis://...` (one node), or the nodes of a Redis Cluster. */
  redis: string | undefined;
  cluster: Array<{ host: string; port: number }> | undefined;
  prefix: string;
  /** ms a connection and each command may take. */
  timeout: number;
  maxRecords: number | undefined;
  streamLength: number | undefined;
  clockSkew: number | undefined;
  waitReplicas: number | undefined;
}

export interface Invocation {
  command: Command;
  operands: string[];
  target: Target;
  json: boolean;
  /** `inspect`: a data key (`getOrSet`, `wrap`) instead of a route's. */
  data: boolean;
  /** `stats`: count the entries too (a SCAN of the prefix). */
  entries: boolean;
}

export const USAGE = `Usage: group-cache <command> [options]

Commands:
  expire <group...>     expire every entry of these groups, as a write naming them would
  expire-key <key>      expire one key (its route entry and its data value)
  inspect <key>         show what is stored under a route's key (--data: a getOrSet/wrap key)
  stats                 what Redis holds for the prefix: records, epoch, expiry stream, last expiry

Options:
  --redis <url>         Redis URL (default: $REDIS_URL, else redis://127.0.0.1:6379)
  --cluster <nodes>     Redis Cluster start nodes, host:port[,host:port...] (instead of --redis)
  --prefix <prefix>     the store's key prefix, as given to redisStore() (default: gc:)
  --json                print one JSON object on stdout, errors included
  --timeout <ms>        longest wait for the connection and for each command (default: 5000)
  --data                inspect: the key is a data key of getOrSet/wrap
  --entries             stats: also count the entries (SCANs the prefix's keys: O(keys in the database))
  --max-records <n>     as redisStore({ maxRecords }) of the apps (default: 1000000)
  --stream-length <n>   as redisStore({ streamLength }) of the apps (default: 10000)
  --clock-skew <ms>     Redis Cluster: as redisStore({ clockSkew }) (default: 10)
  --wait-replicas <n>   Redis Cluster: as redisStore({ waitReplicas }) (default: 0)
  -h, --help            this text

Exit codes: 0 done; 1 inspect found nothing; 2 bad arguments; 3 Redis unreachable; 4 the command failed.
`;

const OPTIONS = {
  redis: { type: 'string' },
  cluster: { type: 'string' },
  prefix: { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  data: { type: 'boolean' },
  entries: { type: 'boolean' },
  'max-records': { type: 'string' },
  'stream-length': { type: 'string' },
  'clock-skew': { type: 'string' },
  'wait-replicas': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function count(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

function nodes(value: string): Array<{ host: string; port: number }> {
  return value.split(',').map((node) => {
    const match = /^\[?([^\]\s]+?)\]?:(\d{1,5})$/.exec(node.trim());
    const port = Number(match?.[2]);
    if (match === null || !(port > 0 && port < 65536))
      throw new UsageError(`--cluster takes host:port[,host:port...], got ${JSON.stringify(node)}`);
    return { host: match[1] as string, port };
  });
}

function redisUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--redis must be a URL such as redis://127.0.0.1:6379, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new UsageError(`--redis must be a redis:// or rediss:// URL, got ${JSON.stringify(value)}`);
  return value;
}

function checkOperands(command: Command, operands: string[]): void {
  const empty = operands.findIndex((operand) => operand === '');
  if (empty !== -1) throw new UsageError(`${command}: argument ${empty + 1} is empty: a group or key is a non-empty string`);
  if (command === 'expire' && operands.length === 0) throw new UsageError('expire needs at least one group: group-cache expire <group...>');
  if ((command === 'expire-key' || command === 'inspect') && operands.length !== 1)
    throw new UsageError(`${command} takes exactly one key, got ${operands.length}: group-cache ${command} <key>`);
  if (command === 'stats' && operands.length > 0) throw new UsageError(`stats takes no argument, got ${JSON.stringify(operands[0])}`);
}

/** The invocation `argv` asks for, or 'help'. Throws a UsageError naming what is wrong. */
export function parseInvocation(argv: readonly string[], env: NodeJS.ProcessEnv): Invocation | 'help' {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true || positionals.length === 0) return 'help';
  const [name, ...operands] = positionals;
  const command = COMMANDS.find((known) => known === name);
  if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}: one of ${COMMANDS.join(', ')}`);
  checkOperands(command, operands);
  if (values.redis !== undefined && values.cluster !== undefined) throw new UsageError('give --redis or --cluster, not both');
  if (values.data === true && command !== 'inspect') throw new UsageError('--data applies to inspect only');
  if (values.entries === true && command !== 'stats') throw new UsageError('--entries applies to stats only');
  const cluster = values.cluster === undefined ? undefined : nodes(values.cluster);
  const prefix = values.prefix ?? 'gc:';
  return {
    command,
    operands,
    json: values.json === true,
    data: values.data === true,
    entries: values.entries === true,
    target: {
      redis: cluster === undefined ? redisUrl(values.redis ?? env.REDIS_URL ?? 'redis://127.0.0.1:6379') : undefined,
      cluster,
      prefix,
      timeout: count(values.timeout, 'timeout', 1) ?? 5_000,
      maxRecords: count(values['max-records'], 'max-records', 1),
      streamLength: count(values['stream-length'], 'stream-length', 0),
      clockSkew: count(values['clock-skew'], 'clock-skew', 0),
      waitReplicas: count(values['wait-replicas'], 'wait-replicas', 0),
    },
  };
}
