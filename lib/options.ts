export const MAX_TTL = 31_536_000_000;

/**
 * Reads a positive number option, throwing a `TypeError` that names the option for anything else.
 * Shared by every factory so that misuse reads the same everywhere (`option ttl must be a positive number`).
 */
export function positiveOption(options: Record<string, unknown>, name: string, fallback: number, integer = false): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new TypeError(`option ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(value)}`);
  }
  return value;
}
