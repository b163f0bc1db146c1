/** A node of a {@link RecencyList}: the list's links live in the node itself, so linking allocates nothing. */
export interface Linked<T> {
  older: T | undefined;
  newer: T | undefined;
}

/**
 * A doubly linked list in use order, oldest first: every operation is O(1) whatever the list's history. (A `Map`'s
 * insertion order would do the same job, but it keeps a deleted slot until it rehashes, so walking it from the front
 * passes every key deleted since: eviction from a full cache would slow down with every miss.)
 */
export class RecencyList<T extends Linked<T>> {
  oldest: T | undefined;
  newest: T | undefined;

  /** Links `node` (not in the list) as the newest. */
  push(node: T): void {
    node.older = this.newest;
    node.newer = undefined;
    if (this.newest === undefined) this.oldest = node;
    else this.newest.newer = node;
    this.newest = node;
  }

  /** Unlinks `node` (in the list). */
  remove(node: T): void {
    const { older, newer } = node;
    if (older === undefined) this.oldest = newer;
    else older.newer = newer;
    if (newer === undefined) this.newest = older;
    else newer.older = older;
    node.older = undefined;
    node.newer = undefined;
  }

  /** Makes `node` (in the list) the newest. */
  touch(node: T): void {
    if (node === this.newest) return;
    this.remove(node);
    this.push(node);
  }

  clear(): void {
    this.oldest = undefined;
    this.newest = undefined;
  }
}
