/*
 * One purge API call, sent the way every shipped purger sends it: retried with backoff on what may pass (a network
 * error, 408, 429, 5xx), never on a refusal that will not (401, 403, 404...), and bounded by one deadline for all
 * attempts, since a write's response waits for it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { positiveOption } from '../core/options.js';

/** Retry and time bounds of a purger's calls. */
export interface PurgeRequestOptions {
  /** Longest a purge (all its batches and retries) may take, in ms. Default 2,000. */
  timeout?: number;
  /** Retries of a call that failed in a way that may pass. Default 3. */
  retries?: number;
  /** First delay before a retry, in ms; it doubles (with jitter), and a `Retry-After` that fits is honoured. Default 50. */
  retryDelay?: number;
}

export interface RequestBounds {
  timeout: number;
  retries: number;
  retryDelay: number;
}

/** The checked bounds, defaults filled in; `what` names the factory in errors. */
export function requestBounds(options: PurgeRequestOptions): RequestBounds {
  const raw = options as Record<string, unknown>;
  const retries = raw.retries === undefined ? 3 : raw.retries;
  if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0) {
    throw new TypeError(`option retries must be a non-negative integer, got ${String(retries)}`);
  }
  return { timeout: positiveOption(raw, 'timeout', 2_000), retries, retryDelay: positiveOption(raw, 'retryDelay', 50) };
}

/** A purge call the edge refused or that never got an answer. */
export class PurgeFailure extends Error {
  /** The last HTTP status, if any answer came. */
  readonly status: number | undefined;
  constructor(message: string, status: number | undefined, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'PurgeFailure';
    this.status = status;
  }
}

/** One HTTP call to make, and how to read its answer (throw to fail it). */
export interface PurgeCall {
  url: string;
  init: { method: string; headers: Record<string, string>; body?: string };
  /** Throws when a 2xx answer still says the purge failed (Cloudflare's `success: false`). */
  check?(body: string): void;
}

const passes = (status: number): boolean => status === 408 || status === 429 || status >= 500;

// RFC 9110 §10.2.3: delay-seconds or an HTTP date.
function retryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Sends `call` until it succeeds, the retries run out, or `deadline` (`performance.now()` ms) passes. */
export async function sendPurge(name: string, call: PurgeCall, bounds: RequestBounds, deadline: number): Promise<void> {
  let last: PurgeFailure | undefined;
  for (let attempt = 0; attempt <= bounds.retries; attempt++) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    let wait = bounds.retryDelay * 2 ** attempt * (0.5 + Math.random() / 2);
    try {
      const response = await fetch(call.url, { ...call.init, signal: AbortSignal.timeout(Math.ceil(left)) });
      const body = await response.text();
      if (response.ok) {
        call.check?.(body);
        return;
      }
      last = new PurgeFailure(
        `${name}: ${call.init.method} ${call.url} answered ${response.status} ${body.slice(0, 200)}`,
        response.status,
      );
      if (!passes(response.status)) throw last;
      wait = retryAfter(response.headers.get('retry-after')) ?? wait;
    } catch (error) {
      if (error instanceof PurgeFailure && !passes(error.status ?? 500)) throw error;
      if (!(error instanceof PurgeFailure))
        last = new PurgeFailure(`${name}: ${call.init.method} ${call.url} failed: ${messageOf(error)}`, undefined, error);
      else last = error;
    }
    if (attempt === bounds.retries || performance.now() + wait >= deadline) break;
    await sleep(wait);
  }
  throw last ?? new PurgeFailure(`${name}: gave up after the ${bounds.timeout} ms timeout`, undefined);
}

function messageOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string } })?.cause?.code;
  const message = String((error as Error)?.message ?? error);
  return cause === undefined ? message : `${message} (${cause})`;
}

/** `tags` cut into batches of at most `count` tags and, joined by `separator`, at most `bytes` bytes. */
export function batches(tags: readonly string[], count: number, bytes = Number.POSITIVE_INFINITY, separator = ' '): string[][] {
  const out: string[][] = [];
  let batch: string[] = [];
  let size = 0;
  for (const tag of tags) {
    const added = Buffer.byteLength(tag) + (batch.length === 0 ? 0 : separator.length);
    if (batch.length > 0 && (batch.length === count || size + added > bytes)) {
      out.push(batch);
      batch = [];
      size = 0;
    }
    size += batch.length === 0 ? Buffer.byteLength(tag) : added;
    batch.push(tag);
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

/** Sends every batch (in parallel, under one deadline); rejects with the first failure once all settled. */
export async function sendBatches(name: string, calls: readonly PurgeCall[], bounds: RequestBounds): Promise<void> {
  const deadline = performance.now() + bounds.timeout;
  const results = await Promise.allSettled(calls.map((call) => sendPurge(name, call, bounds, deadline)));
  const failed = results.find((result) => result.status === 'rejected');
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
}
