import type { GroupCache } from '../engine/cache.js';
import { reportMisuse } from '../engine/default-cache.js';

/** The name of the function every adapter's `expireGroups()` returns: how an app's middleware list shows it. */
export const EXPIRY_MIDDLEWARE = 'expireGroupsMiddleware';

/** One entry of an app's middleware list, as an adapter reads it off its framework. */
export interface MountedLayer {
  /** The function's name. */
  readonly name: string | undefined;
  /** True for what answers routes (a route, a router): the requests it answers go no further. */
  readonly answersRoutes: boolean;
}

/** True when the first app-wide `expireGroups()` comes after something that answers routes: it never sees their writes. */
export function expiryMountedLate(layers: Iterable<MountedLayer>): boolean {
  let sawRoutes = false;
  for (const layer of layers) {
    if (layer.name === EXPIRY_MIDDLEWARE && !layer.answersRoutes) return sawRoutes;
    if (layer.answersRoutes) sawRoutes = true;
  }
  return false;
}

const checkedApps = new WeakSet<object>();

/**
 * Once per app: reports (EMISUSE, with `mistake`, said in the framework's words) an app-wide `expireGroups()`
 * mounted after the routes. `layers` reads the app's middleware list, undefined when the framework keeps none.
 */
export function checkMountOrder(
  app: object,
  cache: GroupCache,
  layers: () => Iterable<MountedLayer> | undefined,
  mistake: string,
): void {
  if (checkedApps.has(app)) return;
  checkedApps.add(app);
  const list = layers();
  if (list !== undefined && expiryMountedLate(list)) reportMisuse(cache, app, mistake);
}
