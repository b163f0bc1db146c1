/** The longest `ttl` accepted anywhere: one year, in ms. A longer one is a mistake, not a cache policy. */
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

/** Reads a ttl option: a positive number of ms, at most {@link MAX_TTL}. */
export function ttlOption(options: Record<string, unknown>, name: string, fallback: number): number {
  const value = positiveOption(options, name, fallback);
  if (value > MAX_TTL) throw new TypeError(`option ${name} must be at most ${MAX_TTL} ms (one year), got ${value}`);
  return value;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/**
 * Throws a `TypeError` naming the first option that `known` does not list, with the closest known name: a typo
 * (`tll`) must not silently leave the default in place.
 */
export function checkOptionNames(options: object, known: readonly string[], what: string): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    let closest: string | undefined;
    let best = Math.max(2, Math.floor(name.length / 3)) + 1;
    for (const candidate of known) {
      const d = distance(name, candidate);
      if (d < best) {
        best = d;
        closest = candidate;
      }
    }
    const hint = closest === undefined ? `known options: ${known.join(', ')}` : `did you mean ${closest}?`;
    throw new TypeError(`unknown option ${name} for ${what} (${hint})`);
  }
}
