/*
 * How every inspector answer goes out: with one set of security headers (a CSP that allows no inline script or
 * style, no framing, no sniffing, never stored), as JSON or as one of the page's files.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface InspectorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  // no-store also keeps group-cache itself from storing these responses (storage-policy.ts), were a groupCache()
  // mounted in front of the inspector.
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export function respond(status: number, type: string, body: string, extra?: Record<string, string>): InspectorResponse {
  return { status, headers: { ...SECURITY_HEADERS, 'Content-Type': type, ...extra }, body };
}

export function json(status: number, value: unknown): InspectorResponse {
  return respond(status, 'application/json; charset=utf-8', JSON.stringify(value));
}

export function refuse(status: number, error: string, extra?: Record<string, string>): InspectorResponse {
  return respond(status, 'application/json; charset=utf-8', JSON.stringify({ error }), extra);
}

/** A request header's first value. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
