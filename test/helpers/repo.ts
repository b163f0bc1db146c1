import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The Markdown pages of a folder of the repository, as paths from its root. */
export function markdownIn(dir: string): string[] {
  return readdirSync(join(ROOT, dir))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `${dir}/${name}`);
}

/** README.md and the pages of docs/. */
export function docPages(): string[] {
  return ['README.md', ...markdownIn('docs')];
}
