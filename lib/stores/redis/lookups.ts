/*
 * The lookups of one event-loop turn, sent to Redis as one script call. A hit on the Redis store costs its app
 * server one socket write and one read, and the write (the loopback stack runs inside it) is most of the cost; a
 * loaded server reads many requests in one turn of its event loop, so their lookups share one write, one reply and,
 * for one key asked many times, one decode. The batch leaves at `setImmediate`, after every callback of the turn's
 * poll phase: on an idle server that is the same turn, so a lone lookup waits for nothing but the phase change.
 *
 * Order: a lookup is never sent before a write this process issued earlier (the batch leaves later, down the same
 * connection), so read-your-writes holds; one issued before a write of the same turn may see that write, as a
 * lookup that arrived a moment later would.
 */

/** One lookup's raw answer: the clock, whether the epoch was made, and the entry's fields when one is held. */
export type GetReply =
  | [stamp: number, madeEpoch: 0 | 1, none: 0]
  | [stamp: number, madeEpoch: 0 | 1, expiredAt: number, startedAt: Buffer, meta: Buffer, body: Buffer];

interface Waiting {
  resolve(reply: GetReply): void;
  reject(error: Error): void;
}

/** Sends the keys of one batch (the `getMany` script: stamp, made, then one answer a key). */
export type LookupSender = (keys: string[]) => Promise<unknown[]>;

export class LookupBatch {
  readonly #send: LookupSender;
  // Keys asked this turn, each with everyone waiting for it; Map order is the order they were asked in.
  #pending = new Map<string, Waiting[]>();
  #scheduled = false;
  readonly #flush = (): void => this.#sendPending();

  constructor(send: LookupSender) {
    this.#send = send;
  }

  get(key: string): Promise<GetReply> {
    return new Promise((resolve, reject) => {
      const waiting = this.#pending.get(key);
      if (waiting === undefined) this.#pending.set(key, [{ resolve, reject }]);
      else waiting.push({ resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  #sendPending(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = new Map();
    const keys = [...pending.keys()];
    this.#send(keys).then(
      (reply) => {
        const stamp = reply[0] as number;
        const made = reply[1] as 0 | 1;
        for (let i = 0; i < keys.length; i++) {
          const found = reply[i + 2];
          const one: GetReply = Array.isArray(found)
            ? [stamp, made, found[0] as number, found[1] as Buffer, found[2] as Buffer, found[3] as Buffer]
            : [stamp, made, 0];
          for (const waiter of pending.get(keys[i] as string) as Waiting[]) waiter.resolve(one);
        }
      },
      (error: unknown) => {
        for (const waiting of pending.values()) fail(waiting, error);
      },
    );
  }
}

function fail(waiting: readonly Waiting[], error: unknown): void {
  const reason = error instanceof Error ? error : new Error(String(error));
  for (const waiter of waiting) waiter.reject(reason);
}
