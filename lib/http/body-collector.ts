/** Collects response chunks up to a byte limit; past it, drops what it holds and stops collecting. */
export class BodyCollector {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #length = 0;
  #overflowed = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get length(): number {
    return this.#length;
  }

  /** Adds a chunk; returns false once the limit is passed. Strings are encoded as Node's `res.write` would. */
  push(chunk: string | Uint8Array, encoding?: BufferEncoding): boolean {
    if (this.#overflowed) return false;
    const buffer =
      typeof chunk === 'string'
        ? Buffer.from(chunk, encoding ?? 'utf8')
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.#length += buffer.length;
    if (this.#length > this.#limit) {
      this.#overflowed = true;
      this.#chunks = [];
      return false;
    }
    // A caller may reuse its buffer after write() returns: keep a copy, not a view.
    if (buffer.length > 0) this.#chunks.push(typeof chunk === 'string' ? buffer : Buffer.from(buffer));
    return true;
  }

  /**
   * The collected body as one buffer of its own. Small buffers from `Buffer.from`/`concat` are slices of Node's
   * shared 8 KiB pool, and a stored slice would keep its whole block alive: the store's byte bound would then
   * undercount the heap it holds by up to 8 KiB an entry. One unpooled copy makes the count true.
   */
  toBuffer(): Buffer {
    const body = Buffer.allocUnsafeSlow(this.#length);
    let offset = 0;
    for (const chunk of this.#chunks) offset += chunk.copy(body, offset);
    return body;
  }
}
