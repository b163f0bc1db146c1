/*
 * A green run prints no warning of ours. The suite runs with --no-warnings (.mocharc.json), so Node prints none by
 * itself; this root hook prints every other warning as Node would, and holds each GroupCacheWarning to account: one
 * emitted while a test listens for warnings (as `warningsDuring()` in the tests that expect one do) belongs to that
 * test, which asserts it; one emitted while nothing listens is unexpected, and fails the run at the end, naming the
 * test it came from.
 *
 * The check for a forgotten expireGroups() (once per process, on the first miss of a route) would fire in whichever
 * test happens to miss first: the test process makes one expireGroups() up front, as an app that writes does, and
 * the check itself is tested in child processes (test/http/forgotten-expiry.test.ts).
 */
import { expireGroups } from 'group-cache/express';

expireGroups();

const unexpected: string[] = [];
let current = '(outside any test)';

function onWarning(warning: Error & { code?: string }): void {
  if (warning.name !== 'GroupCacheWarning') {
    process.stderr.write(`${warning.stack ?? `${warning.name}: ${warning.message}`}\n`);
    return;
  }
  // This listener is one; any other is a test's.
  if (process.listenerCount('warning') > 1) return;
  unexpected.push(`${current}: ${warning.code ? `[${warning.code}] ` : ''}${warning.message}`);
}

process.on('warning', onWarning);

export const mochaHooks = {
  beforeEach(this: Mocha.Context): void {
    current = this.currentTest?.fullTitle() ?? '(unknown test)';
  },
  afterAll(): void {
    if (unexpected.length === 0) return;
    throw new Error(
      `${unexpected.length} GroupCacheWarning(s) were emitted while no test listened for them (a test that expects ` +
        `one listens for it and asserts it):\n  ${unexpected.join('\n  ')}`,
    );
  },
};
