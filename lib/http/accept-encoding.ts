import { type HeaderMap, headerValue } from './headers.js';

/*
 * Accept-Encoding (RFC 9110 §12.5.3), read the way the compressors mounted around the cache read it. A stored
 * response that varies on it is matched by the coding a request would get, not by the raw header: browsers spell
 * the same wish a thousand ways (`gzip, deflate, br`, `br;q=1.0, gzip;q=0.8, *;q=0.1`, ...), and keying on the
 * spelling would make one entry per spelling.
 */

/**
 * The codings a request is sorted by, in the order that breaks a tie between equal q-values. zstd first, as
 * koa-compress prefers it where Node has it: ranking it below br would put koa-compress's zstd answer to Chrome in
 * the class of br-only clients, which cannot read it, and the two would keep replacing each other's entry.
 */
const CLASSES = ['zstd', 'br', 'gzip', 'deflate', 'identity'] as const;

/** q-values by coding, lower-case; `*` for the wildcard. */
type Weights = Map<string, number>;

// RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ); anything else is ignored.
const QVALUE = /^q=(0(\.\d{0,3})?|1(\.0{0,3})?)$/i;

function weights(header: string): Weights {
  const found: Weights = new Map();
  for (const member of header.split(',')) {
    const [name, ...params] = member.split(';');
    let coding = (name as string).trim().toLowerCase();
    if (coding === '') continue;
    // RFC 9110 §8.4.1.3: a recipient SHOULD treat x-gzip as gzip.
    if (coding === 'x-gzip') coding = 'gzip';
    let q = 1;
    for (const param of params) {
      const text = param.trim();
      if (QVALUE.test(text)) q = Number(text.slice(2));
    }
    // A coding listed twice keeps its highest weight (the RFC leaves it open; no compressor reads it otherwise).
    found.set(coding, Math.max(q, found.get(coding) ?? 0));
  }
  return found;
}

function headerText(headers: HeaderMap): string | undefined {
  const value = headerValue(headers, 'accept-encoding');
  if (value === undefined) return undefined;
  return typeof value === 'object' ? value.join(',') : String(value);
}

/*
 * The weight a request gives a coding. No header reads as identity only: RFC 9110 §12.5.3 would allow any coding,
 * but `compression` and `koa-compress` send identity then, and the clients that send none (curl without
 * --compressed, scripts) cannot decode one. `identity` is acceptable unless excluded by `identity;q=0`, or by
 * `*;q=0` with no entry of its own; unlisted, it weighs as little as the least listed coding (as `negotiator`,
 * which both compressors use, reads it), so `br;q=0.9` still prefers br.
 */
function weight(found: Weights | undefined, coding: string): number {
  if (found === undefined) return coding === 'identity' ? 1 : 0;
  const own = found.get(coding);
  if (own !== undefined) return own;
  const wildcard = found.get('*');
  if (wildcard !== undefined) return wildcard;
  if (coding !== 'identity') return 0;
  let least = 1;
  for (const q of found.values()) if (q > 0 && q < least) least = q;
  return least;
}

/**
 * The coding a request would get from a compressor: the acceptable one of zstd, br, gzip, deflate and identity
 * with the highest q-value, ties going to that order; `identity` when none is acceptable (`*;q=0`), since a server
 * then answers without a coding. At most five values, whatever the spelling.
 */
export function preferredCoding(headers: HeaderMap): string {
  const text = headerText(headers);
  const found = text === undefined ? undefined : weights(text);
  let best: string = 'identity';
  let bestWeight = 0;
  for (const coding of CLASSES) {
    const q = weight(found, coding);
    if (q > bestWeight) {
      best = coding;
      bestWeight = q;
    }
  }
  return best;
}

// The Content-Encoding values a stored response may carry that a request can be asked about; any other (an
// unregistered coding, a list of two) is never served from the cache, only refilled.
const STORED_CODINGS = ['zstd', 'br', 'gzip', 'x-gzip', 'deflate', 'compress', 'x-compress'] as const;

/**
 * The `Content-Encoding` values (lower-case; `''` for none) a response may carry to be sent to this request:
 * each coding it gives a q-value above 0. No coding and `identity` always may: it is what a server sends when
 * nothing listed is acceptable, and what the handler itself sends such a client.
 */
export function acceptedCodings(headers: HeaderMap): ReadonlySet<string> {
  const text = headerText(headers);
  const found = text === undefined ? undefined : weights(text);
  const accepted = new Set<string>(['', 'identity']);
  for (const coding of STORED_CODINGS) {
    if (weight(found, coding === 'x-gzip' ? 'gzip' : coding) > 0) accepted.add(coding);
  }
  return accepted;
}
