import type { PurgeOptions, Purger } from '../engine/purger.js';
import { batches, type PurgeCall, type PurgeRequestOptions, requestBounds, sendBatches } from './purge-request.js';

/** Options of {@link varnishPurger}. */
export interface VarnishPurgerOptions extends PurgeRequestOptions {
  /** Where Varnish listens, as the app reaches it: `http://127.0.0.1:6081`. */
  url: string;
  /** Extra headers of every purge request (a shared secret your VCL checks, say). Default none. */
  headers?: Record<string, string>;
}

/*
 * Varnish reads a request header of at most `http_req_hdr_len` bytes (8 KiB by default): a batch's `xkey-purge`
 * value stays well under it.
 */
const HEADER_BYTES = 7 * 1024;

/**
 * Purges a Varnish with the xkey vmod, through the VCL of examples/varnish: `PURGE /` with the tags, space-separated,
 * in `xkey-purge` (`xkey.purge`: the objects are gone) or, with `soft`, in `xkey-softpurge` (`xkey.softpurge`: they
 * are kept stale for their grace, which lets Varnish serve them while it refetches). The VCL answers 200 once done.
 */
export function varnishPurger(options: VarnishPurgerOptions): Purger {
  if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
  const { url, headers = {} } = options;
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new TypeError(`option url must be Varnish's http:// URL, got ${String(url)}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new TypeError(`option url must be an http(s) URL, got ${url}`);
  const bounds = requestBounds(options);
  const name = `varnish ${base.origin}`;
  return {
    name,
    purge(tags: readonly string[], { soft }: PurgeOptions): Promise<void> {
      const calls = batches(tags, Number.POSITIVE_INFINITY, HEADER_BYTES).map(
        (batch): PurgeCall => ({
          url: base.href,
          init: { method: 'PURGE', headers: { ...headers, [soft ? 'xkey-softpurge' : 'xkey-purge']: batch.join(' ') } },
        }),
      );
      return sendBatches(name, calls, bounds);
    },
  };
}
