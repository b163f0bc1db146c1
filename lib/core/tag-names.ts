/** A store tag as a reader names it: `group "users"`, `key "user_1"`, `group by digest …`. */
export function describeTag(tag: string): string {
  if (tag === '\0epoch') return "the store's floor (records dropped or lost, or a clear())";
  const name = tag.slice(2);
  switch (tag[0]) {
    case 'g':
      return `group ${JSON.stringify(name)}`;
    case 'k':
      return `key ${JSON.stringify(name)}`;
    case 'G':
      return `group by digest ${name}`;
    case 'K':
      return `key by digest ${name}`;
    default:
      return `tag ${JSON.stringify(tag)}`;
  }
}
