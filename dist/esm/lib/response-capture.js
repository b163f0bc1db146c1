import etag from 'etag';
import { BodyCollector } from './body-collector.js';
import { storableHeaders, varyValues } from './headers.js';
import { responseRejectReason } from './storage-policy.js';
/**
 * Takes a response apart as the framework sends it, for one fill: the head once it is final, then the body
 * chunks, then the end. Stores only a response that finished, passed the storage policy and stayed under
 * `maxEntryBytes`; anything else cancels the fill so that waiters run their own handler.
 */
export class ResponseCapture {
    #fill;
    #policy;
    #requestHeaders;
    #ttl;
    #now;
    #ownHeader;
    #body;
    #state = 'open';
    #status = 0;
    #headers = [];
    #etag;
    #vary = [];
    constructor(fill, policy, requestHeaders, ttl, now, ownHeader) {
        this.#fill = fill;
        this.#policy = policy;
        this.#requestHeaders = requestHeaders;
        this.#ttl = ttl;
        this.#now = now;
        this.#ownHeader = ownHeader?.toLowerCase();
        this.#body = new BodyCollector(policy.maxEntryBytes);
    }
    /** True while the body is being collected. */
    get capturing() {
        return this.#state === 'capturing';
    }
    /** The status and headers are final (call just before they are sent). Returns whether the body is collected. */
    head(status, headers) {
        if (this.#state !== 'open')
            return this.#state === 'capturing';
        const reason = responseRejectReason(status, headers, this.#policy);
        if (reason !== undefined) {
            this.abort(reason);
            return false;
        }
        this.#status = status;
        this.#headers = storableHeaders(headers, this.#ownHeader);
        const tag = headers.etag;
        this.#etag = typeof tag === 'string' && tag !== '' ? tag : undefined;
        this.#vary = varyValues(headers.vary, this.#requestHeaders);
        this.#state = 'capturing';
        return true;
    }
    /** A body chunk as written: a string (with its encoding), a Buffer or a Uint8Array. */
    write(chunk, encoding) {
        if (this.#state !== 'capturing')
            return;
        if (!this.#body.push(chunk, encoding))
            this.abort(`body over maxEntryBytes ${this.#policy.maxEntryBytes}`);
    }
    /** The response finished: store it. Resolves with whether the store took it. */
    end() {
        if (this.#state !== 'capturing') {
            if (this.#state === 'open')
                this.abort('finished without a head');
            return Promise.resolve(false);
        }
        this.#state = 'done';
        const body = this.#body.toBuffer();
        const storedAt = this.#now();
        const entry = {
            status: this.#status,
            headers: this.#headers,
            body,
            etag: this.#etag ?? etag(body),
            vary: this.#vary,
            tags: [...this.#fill.tags],
            startedAt: this.#fill.startedAt,
            storedAt,
            expiresAt: storedAt + this.#ttl,
        };
        return this.#fill.commit(entry, this.#ttl);
    }
    /** Nothing is stored: the response errored, was aborted, or was refused. Safe to call more than once. */
    abort(reason) {
        if (this.#state === 'done')
            return;
        this.#state = 'done';
        this.#fill.cancel(reason);
    }
}
//# sourceMappingURL=response-capture.js.map