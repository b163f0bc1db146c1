/*
 * Collects response chunks up to a byte limit; past it, drops what it holds and stops collecting.
 *
 * The body is stored as one Buffer of its own: small buffers from `Buffer.from`/`concat` are slices of Node's shared
 * 8 KiB pool, and a stored slice would keep its whole block alive, so the store's byte bound would undercount the
 * heap it holds by up to 8 KiB an entry. Each byte is copied once on the way there when the size is known as the
 * first chunk arrives (a body in one write, as `res.send`, `res.json` and Koa send it, or a declared Content-Length):
 * it is encoded or copied straight into that Buffer. Only a body of unknown length in several writes is copied
 * twice (the chunks, then the whole).
 */
export class BodyCollector {
  readonly #limit: number;
  // The body's own Buffer while every byte so far fits in it; `#length` of it are written.
  #own: Buffer | undefined;
  // Copies of the chunks once they no longer fit one Buffer of a known size.
  #chunks: Buffer[] | undefined;
  #length = 0;
  // The Content-Length the response declared, when it is within the limit.
  #expected: number | undefined;
  #overflowed = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get length(): number {
    return this.#length;
  }

  /**
   * The length the response declared (its Content-Length), before the first chunk: the bytes then go straight
   * into one Buffer of that size. Ignored when it is not a byte count within the limit, or once a chunk came.
   */
  expect(length: number): void {
    if (this.#own !== undefined || this.#chunks !== undefined || this.#overflowed) return;
    if (Number.isSafeInteger(length) && length > 0 && length <= this.#limit) this.#expected = length;
  }

  /** Adds a chunk; returns false once the limit is passed. Strings are encoded as Node's `res.write` would. */
  push(chunk: string | Uint8Array, encoding?: BufferEncoding): boolean {
    if (this.#overflowed) return false;
    const text = typeof chunk === 'string';
    const size = text ? Buffer.byteLength(chunk, encoding ?? 'utf8') : chunk.byteLength;
    if (this.#length + size > this.#limit) {
      this.#overflowed = true;
      this.#own = undefined;
      this.#chunks = undefined;
      this.#length += size;
      return false;
    }
    if (size === 0) return true;
    const own = this.#target(size);
    // A caller may reuse its buffer after write() returns: the bytes are copied, never kept as a view.
    if (own === undefined) (this.#chunks as Buffer[]).push(text ? Buffer.from(chunk, encoding ?? 'utf8') : Buffer.from(chunk));
    else if (text) own.write(chunk, this.#length, size, encoding ?? 'utf8');
    else own.set(chunk, this.#length);
    this.#length += size;
    return true;
  }

  // The Buffer `size` more bytes go straight into, or undefined when they go to the chunk list.
  #target(size: number): Buffer | undefined {
    if (this.#chunks !== undefined) return undefined;
    const own = this.#own;
    if (own === undefined) {
      // Allocated at the declared length when the first chunk fits in it, else at the first chunk's own size.
      const expected = this.#expected;
      this.#own = Buffer.allocUnsafeSlow(expected !== undefined && size <= expected ? expected : size);
      return this.#own;
    }
    if (this.#length + size <= own.length) return own;
    // More than the Buffer holds (a second chunk of unknown length, or past the declared length): a list from here.
    this.#chunks = [own.subarray(0, this.#length)];
    this.#own = undefined;
    return undefined;
  }

  /** The collected body as one Buffer of its own, sized to the bytes collected (see the top of this file). */
  toBuffer(): Buffer {
    const own = this.#own;
    if (own !== undefined && own.length === this.#length) return own;
    const body = Buffer.allocUnsafeSlow(this.#length);
    if (own !== undefined) own.copy(body, 0, 0, this.#length);
    else if (this.#chunks !== undefined) {
      let offset = 0;
      for (const chunk of this.#chunks) offset += chunk.copy(body, offset);
    }
    return body;
  }
}
