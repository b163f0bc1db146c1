"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.BodyCollector = void 0;
/** Collects response chunks up to a byte limit; past it, drops what it holds and stops collecting. */
class BodyCollector {
    #limit;
    #chunks = [];
    #length = 0;
    #overflowed = false;
    constructor(limit) {
        this.#limit = limit;
    }
    /** True once more than `limit` bytes were pushed. */
    get overflowed() {
        return this.#overflowed;
    }
    get length() {
        return this.#length;
    }
    /** Adds a chunk; returns false once the limit is passed. Strings are encoded as Node's `res.write` would. */
    push(chunk, encoding) {
        if (this.#overflowed)
            return false;
        const buffer = typeof chunk === 'string'
            ? Buffer.from(chunk, encoding ?? 'utf8')
            : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        this.#length += buffer.length;
        if (this.#length > this.#limit) {
            this.#overflowed = true;
            this.#chunks = [];
            return false;
        }
        // A caller may reuse its buffer after write() returns: keep a copy, not a view.
        if (buffer.length > 0)
            this.#chunks.push(typeof chunk === 'string' ? buffer : Buffer.from(buffer));
        return true;
    }
    /** The collected body as one buffer. */
    toBuffer() {
        return this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#length);
    }
}
exports.BodyCollector = BodyCollector;
//# sourceMappingURL=body-collector.js.map