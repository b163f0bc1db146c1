// The fields of an engine lookup (`cache.lookup()`) that the in-process benches do not vary.
export const LOOKUP = {
  source: { where: 'bench' },
  canFill: true,
  // Any stored entry may answer (lib/engine/selection.ts): the benches store no Vary.
  selection: { reuse: true, values: undefined, complete: true },
  staleWhileRevalidate: 0,
  staleIfError: 0,
  staleIfErrorAfterExpire: false,
};
