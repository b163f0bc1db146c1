/** True when `value` is a promise (or a thenable): the caller then waits for it, else it uses the value as it is. */
export function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
