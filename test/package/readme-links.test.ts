/*
 * The links of README.md, docs/*.md, bench/README.md and bench/results/*.md inside the repository resolve: a
 * relative link names a file that exists (relative to the page it is on), and a #fragment names a heading of the
 * page it points to, spelled as GitHub spells its anchors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { expect } from 'chai';
import { docPages, markdownIn, ROOT } from '../helpers/repo.js';

const PAGES = [...docPages(), 'bench/README.md', ...markdownIn('bench/results')];

/** A page without its fenced code blocks and inline code, where `[x](y)` is code, not a link. */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '').replace(/`[^`\n]*`/g, '');
}

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

interface Link {
  page: string;
  target: string;
}

const links: Link[] = PAGES.flatMap((page) =>
  [...prose(readFileSync(join(ROOT, page), 'utf8')).matchAll(/\]\(([^)\s]+)\)/g)].map((match) => ({
    page,
    target: match[1] as string,
  })),
);
const local = links.filter((link) => !/^[a-z][a-z0-9+.-]*:/i.test(link.target));

/** The repository path a link points to (the page itself for a bare #fragment). */
function fileOf(link: Link): string {
  const path = decodeURI(link.target.split('#')[0] as string);
  return path === '' ? link.page : relative(ROOT, join(ROOT, dirname(link.page), path));
}

describe('README.md, docs/ and bench/ links', () => {
  it('reads the README, the guides in docs/ and the benchmark pages', () => {
    expect(PAGES).to.include.members([
      'README.md',
      'docs/api.md',
      'docs/express.md',
      'bench/README.md',
      'bench/results/README.md',
    ]);
    expect(local.filter((link) => link.page === 'README.md').map((link) => link.target)).to.include('docs/http-outcomes.md');
  });

  it('every relative link names a file of the repository', () => {
    const missing = local.filter((link) => !existsSync(join(ROOT, fileOf(link)))).map((link) => `${link.page}: ${link.target}`);
    expect(missing).to.deep.equal([]);
  });

  it('every #fragment names a heading of the page it points to', () => {
    const cache = new Map<string, Set<string>>();
    const broken = local
      .filter((link) => link.target.includes('#'))
      .filter((link) => {
        const file = fileOf(link);
        if (!file.endsWith('.md') || !existsSync(join(ROOT, file))) return false; // the test above reports it
        if (!cache.has(file)) cache.set(file, anchors(readFileSync(join(ROOT, file), 'utf8')));
        return !cache.get(file)?.has(link.target.split('#')[1] as string);
      })
      .map((link) => `${link.page}: ${link.target}`);
    expect(broken).to.deep.equal([]);
  });
});
