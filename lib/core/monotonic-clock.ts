import { performance } from 'node:perf_hooks';

// Constant for the life of the process, and a getter call to read each time.
const TIME_ORIGIN = performance.timeOrigin;

/**
 * Whole milliseconds since the epoch as they were when the process started, advanced by the monotonic clock: it reads
 * like `Date.now()` but never jumps when the wall clock is stepped (NTP, a VM resumed), so a lifetime measured on it
 * is the lifetime that passed.
 */
export function monotonicNow(): number {
  return Math.floor(TIME_ORIGIN + performance.now());
}

/** The same clock in whole microseconds. */
export function monotonicMicros(): number {
  return Math.floor((TIME_ORIGIN + performance.now()) * 1000);
}
