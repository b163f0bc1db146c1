import { GroupCacheError } from '../core/errors.js';
import { isPromiseLike } from '../core/promise.js';
import type { MaybePromise } from '../stores/contract.js';

function storeError(error: unknown, what: string): GroupCacheError {
  if (error instanceof GroupCacheError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new GroupCacheError('ESTORE', `${what} failed: ${reason}`, { cause: error });
}

/**
 * Calls a store method, turning a throw or a rejection into a `GroupCacheError` and bounding an async answer by
 * `ms`. A synchronous answer stays synchronous, so the memory store's hit path allocates no promise or timer.
 */
export function callStore<T>(what: string, ms: number, call: () => MaybePromise<T>): MaybePromise<T> {
  let result: MaybePromise<T>;
  try {
    result = call();
  } catch (error) {
    return Promise.reject(storeError(error, what));
  }
  if (!isPromiseLike(result)) return result;
  const pending = result;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new GroupCacheError('ETIMEOUT', `${what} took longer than storeTimeout (${ms} ms)`));
    }, ms);
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(storeError(error, what));
      },
    );
  });
}
