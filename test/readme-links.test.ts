/*
 * README.md's links inside the repository resolve: a relative link names a file that exists (the guides in docs/
 * among them), and a #fragment names a heading of the README, spelled as GitHub spells its anchors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** The README without its fenced code blocks, where `[x](y)` is code, not a link. */
const prose = README.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
const links = [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] as string);

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '').matchAll(/^#{1,6} (.+)$/gm)) {
    const base = (heading as string)
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

describe('README.md links', () => {
  it('every relative link names a file of the repository', () => {
    const files = links.filter((link) => !/^[a-z]+:/i.test(link) && !link.startsWith('#'));
    expect(files).to.include('docs/http-outcomes.md');
    const missing = files.filter((link) => !existsSync(`${ROOT}${decodeURI(link.split('#')[0] as string)}`));
    expect(missing).to.deep.equal([]);
  });

  it('every #fragment names a heading of the README', () => {
    const known = anchors(README);
    expect(known.has('redis-one-cache-for-many-processes-and-machines')).to.equal(true);
    const broken = links.filter((link) => link.startsWith('#') && !known.has(link.slice(1)));
    expect(broken).to.deep.equal([]);
  });
});
