/*
 * The few comparisons node:assert/strict lacks, with messages that show both sides, so a third-party store or
 * adapter failing the suite sees what it answered. The suites depend on no assertion library.
 */
import assert from 'node:assert/strict';
import { inspect, isDeepStrictEqual } from 'node:util';

export { assert };

function fail(actual: unknown, expected: unknown, relation: string, message: string | undefined): never {
  throw new assert.AssertionError({
    message: `${message ? `${message}: ` : ''}expected ${inspect(actual)} ${relation} ${inspect(expected)}`,
    actual,
    expected,
    operator: relation,
  });
}

function number(actual: unknown, expected: number, relation: string, message: string | undefined): number {
  if (typeof actual !== 'number' || Number.isNaN(actual)) fail(actual, expected, relation, message);
  return actual;
}

export function below(actual: unknown, limit: number, message?: string): void {
  if (!(number(actual, limit, 'to be below', message) < limit)) fail(actual, limit, 'to be below', message);
}

export function above(actual: unknown, limit: number, message?: string): void {
  if (!(number(actual, limit, 'to be above', message) > limit)) fail(actual, limit, 'to be above', message);
}

export function atLeast(actual: unknown, limit: number, message?: string): void {
  if (!(number(actual, limit, 'to be at least', message) >= limit)) fail(actual, limit, 'to be at least', message);
}

export function atMost(actual: unknown, limit: number, message?: string): void {
  if (!(number(actual, limit, 'to be at most', message) <= limit)) fail(actual, limit, 'to be at most', message);
}

export function within(actual: unknown, low: number, high: number, message?: string): void {
  const value = number(actual, low, `to be within ${low}..`, message);
  if (value < low || value > high) fail(actual, high, `to be within ${low}..`, message);
}

/**
 * A string holds a substring, an array holds an element (deep equality), or an object holds every property of
 * `expected` (each deeply equal).
 */
export function includes(actual: unknown, expected: unknown, message?: string): void {
  let found = false;
  if (typeof actual === 'string') found = typeof expected === 'string' && actual.includes(expected);
  else if (Array.isArray(actual)) found = actual.some((item) => isDeepStrictEqual(item, expected));
  else if (actual !== null && typeof actual === 'object' && expected !== null && typeof expected === 'object') {
    const held = actual as Record<string, unknown>;
    found = Object.entries(expected).every(([name, value]) => name in held && isDeepStrictEqual(held[name], value));
  }
  if (!found) fail(actual, expected, 'to include', message);
}
