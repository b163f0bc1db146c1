// The longest wait between two retries, however many failed before.
const MAX_RETRY_DELAY = 30_000;

/**
 * One pending retry at a time, each wait twice the one before (from `interval`, at most 30 s) until a retry
 * succeeds. Its timer never holds the process open.
 */
export class Backoff {
  readonly #run: () => void;
  #timer: NodeJS.Timeout | undefined;
  #attempt = 0;

  constructor(run: () => void) {
    this.#run = run;
  }

  /** Runs `run` after the current wait, never sooner than `atLeast`; nothing when a retry is already pending. */
  schedule(interval: number, atLeast = 0): void {
    if (this.#timer !== undefined) return;
    const delay = Math.max(atLeast, Math.min(interval * 2 ** this.#attempt, MAX_RETRY_DELAY));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, delay);
    this.#timer.unref();
  }

  /** A retry's result: success starts the waits over, failure doubles the next one. */
  settled(succeeded: boolean): void {
    this.#attempt = succeeded ? 0 : this.#attempt + 1;
  }

  /** Cancels the pending retry. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
