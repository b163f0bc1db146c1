import type { MaybePromise } from './types.js';
export declare function isPromiseLike<T>(value: MaybePromise<T>): value is Promise<T>;
/**
 * Calls a store method, turning a throw or a rejection into a `GroupCacheError` and bounding an async answer by
 * `ms`. A synchronous answer stays synchronous, so the memory store's hit path allocates no promise or timer.
 */
export declare function callStore<T>(what: string, ms: number, call: () => MaybePromise<T>): MaybePromise<T>;
//# sourceMappingURL=timeout.d.ts.map