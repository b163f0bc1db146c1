// The fields of an engine lookup (`cache.lookup()`) that the in-process benches do not vary.
export const LOOKUP = {
  source: { where: 'bench' },
  canFill: true,
  accepts: () => true,
  staleWhileRevalidate: 0,
  staleIfError: 0,
  staleIfErrorAfterExpire: false,
};
