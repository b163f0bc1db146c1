/*
 * How ids and tags travel to Redis. They go as UTF-8, which cannot carry a lone surrogate: two such strings would
 * encode alike. Those (and the rare id starting with NUL) are sent as NUL + the hex of their UTF-16 code units
 * instead, which no other id maps to, so distinct ids always stay distinct keys and members.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The form of `id` sent to Redis. */
export function wire(id: string): string {
  if (!id.startsWith('\0') && !LONE_SURROGATE.test(id)) return id;
  return `\0${Buffer.from(id, 'utf16le').toString('hex')}`;
}

/** The id a {@link wire} form came from (for tags read back from the expiry stream). */
export function unwire(sent: string): string {
  return sent.startsWith('\0') ? Buffer.from(sent.slice(1), 'hex').toString('utf16le') : sent;
}
