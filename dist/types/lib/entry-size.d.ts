import type { CachedEntry } from './types.js';
export declare const ENTRY_OVERHEAD_BYTES = 320;
/** Estimated heap bytes of `entry` stored under `key`. */
export declare function entrySize(key: string, entry: CachedEntry): number;
//# sourceMappingURL=entry-size.d.ts.map