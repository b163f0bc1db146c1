import { performance } from 'node:perf_hooks';
import createDebug from 'debug';
import { GroupCacheError } from '../core/errors.js';
import { cdnTag } from '../core/keys.js';
import { Backoff } from './backoff.js';
import type { EdgeSettings, Purger } from './purger.js';
import type { Telemetry } from './telemetry.js';

const purgeLog = createDebug('group-cache:purge');

/** What the edge purge needs of the cache it works for. */
export interface EdgePurgeSettings {
  edge: EdgeSettings;
  telemetry: Telemetry;
  /** Most tags waiting for a retry, per edge; past it the oldest is dropped and reported. */
  maxPending: number;
  /** First delay before a failed purge is retried; it doubles up to 30 s. */
  retryInterval: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Purges the edges of the groups an expiry recorded, as part of that expiry: the write's response waits for it.
 *
 * Why the purge waits `window` first (the stale write-back race, one layer out): a response R that read its data
 * before the expiry E was recorded was asked for by the edge before that (the app only reads after the edge's
 * request reached it). The edge stores R only if R reached it within `window / 2` of its request (the VCL checks
 * `fetch-within`), so R reached the edge before E was recorded plus `window / 2`. The purge leaves `window` after
 * E was recorded: R is already at the edge when the purge arrives, and is purged with the rest; the other half of
 * the window is the margin for the edge to index what it took. Any response the edge stores after the purge was
 * asked for after E was recorded, so it read the written data.
 */
export class EdgePurge {
  readonly #settings: EdgePurgeSettings;
  // Tags whose purge failed, per edge, oldest first, waiting for a retry.
  readonly #pending = new Map<Purger, Set<string>>();
  readonly #backoff = new Backoff(() => void this.#retry());
  #closed = false;

  constructor(settings: EdgePurgeSettings) {
    this.#settings = settings;
  }

  /** Tags waiting for a retry, over every edge. */
  get pending(): number {
    let count = 0;
    for (const tags of this.#pending.values()) count += tags.size;
    return count;
  }

  /**
   * Purges the groups' tags at every edge, `window` ms from now (call it once the store recorded their expiry).
   * Rejects with `EPURGE` (already reported) when an edge could not be purged; its tags are retried meanwhile.
   */
  async purge(groups: readonly string[]): Promise<void> {
    const tags = [...new Set(groups.map(cdnTag))];
    if (tags.length === 0) return;
    const { edge } = this.#settings;
    await sleep(edge.window);
    const started = performance.now();
    const failures = await this.#purgeEach(edge.purgers, () => tags);
    purgeLog(
      'purged %d tag(s) at %d edge(s) in %s ms',
      tags.length,
      edge.purgers.length,
      (performance.now() - started).toFixed(2),
    );
    if (failures.length === 0) return;
    for (const { purger } of failures) this.#queue(purger, tags);
    const failure = purgeError(failures, tags, this.pending);
    this.#settings.telemetry.report(failure);
    throw failure;
  }

  async #purgeEach(
    purgers: readonly Purger[],
    tagsOf: (purger: Purger) => readonly string[],
  ): Promise<{ purger: Purger; error: unknown }[]> {
    const soft = this.#settings.edge.soft;
    const results = await Promise.allSettled(purgers.map((purger) => purger.purge(tagsOf(purger), { soft })));
    const failures: { purger: Purger; error: unknown }[] = [];
    results.forEach((result, i) => {
      const purger = purgers[i];
      if (result.status === 'rejected' && purger !== undefined) failures.push({ purger, error: result.reason });
    });
    return failures;
  }

  #queue(purger: Purger, tags: readonly string[]): void {
    let queued = this.#pending.get(purger);
    if (queued === undefined) {
      queued = new Set();
      this.#pending.set(purger, queued);
    }
    for (const tag of tags) {
      queued.delete(tag);
      queued.add(tag);
    }
    const dropped: string[] = [];
    for (const tag of queued) {
      if (queued.size <= this.#settings.maxPending) break;
      queued.delete(tag);
      dropped.push(tag);
    }
    if (dropped.length > 0) this.#reportDropped(purger, dropped, 'its retry queue is full');
    this.#scheduleRetry();
  }

  // Never sooner than the window: a retry is a purge like the first, and the same race holds for it.
  #scheduleRetry(): void {
    if (this.#closed || this.pending === 0) return;
    const { retryInterval, edge } = this.#settings;
    this.#backoff.schedule(retryInterval, edge.window);
  }

  async #retry(): Promise<void> {
    const batch = new Map([...this.#pending].map(([purger, tags]) => [purger, [...tags]]));
    const failures = await this.#purgeEach([...batch.keys()], (purger) => batch.get(purger) ?? []);
    const failed = new Set(failures.map(({ purger }) => purger));
    for (const [purger, tags] of batch) {
      if (failed.has(purger)) continue;
      const queued = this.#pending.get(purger);
      for (const tag of tags) queued?.delete(tag);
      if (queued?.size === 0) this.#pending.delete(purger);
      purgeLog('retried purge of %d tag(s) at %s landed', tags.length, purger.name);
    }
    this.#backoff.settled(failures.length === 0);
    for (const { purger, error } of failures) purgeLog('retry of the purge at %s failed: %s', purger.name, messageOf(error));
    this.#scheduleRetry();
  }

  #reportDropped(purger: Purger, tags: readonly string[], why: string): void {
    const message = `${tags.length} edge purge(s) at ${purger.name} were never applied because ${why}: ${tags.slice(0, 5).join(', ')}`;
    this.#settings.telemetry.reportLoudly(
      new GroupCacheError('EPURGE', message, { details: { edge: purger.name, tags: [...tags] } }),
    );
  }

  /** Stops retrying; purges still queued are reported as dropped. */
  close(): void {
    this.#closed = true;
    this.#backoff.stop();
    for (const [purger, tags] of this.#pending) this.#reportDropped(purger, [...tags], 'the cache was closed');
    this.#pending.clear();
  }
}

function messageOf(error: unknown): string {
  return String((error as Error)?.message ?? error);
}

function purgeError(
  failures: readonly { purger: Purger; error: unknown }[],
  tags: readonly string[],
  pending: number,
): GroupCacheError {
  const which = failures.map(({ purger, error }) => `${purger.name}: ${messageOf(error)}`).join('; ');
  return new GroupCacheError(
    'EPURGE',
    `could not purge ${tags.length} tag(s) at the edge now (${which}); queued for retry (${pending} pending)`,
    { cause: failures[0]?.error, details: { tags: [...tags], edges: failures.map(({ purger }) => purger.name) } },
  );
}
