/** Collects response chunks up to a byte limit; past it, drops what it holds and stops collecting. */
export declare class BodyCollector {
    #private;
    constructor(limit: number);
    /** True once more than `limit` bytes were pushed. */
    get overflowed(): boolean;
    get length(): number;
    /** Adds a chunk; returns false once the limit is passed. Strings are encoded as Node's `res.write` would. */
    push(chunk: string | Uint8Array, encoding?: BufferEncoding): boolean;
    /** The collected body as one buffer. */
    toBuffer(): Buffer;
}
//# sourceMappingURL=body-collector.d.ts.map