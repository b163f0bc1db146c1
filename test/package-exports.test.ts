import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import * as root from 'group-cache';

const require = createRequire(import.meta.url);
const pkg = require('../package.json') as { exports: Record<string, Record<string, string> | string> };

describe('package exports', () => {
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue;
    it(`${subpath}: types, ESM and CommonJS builds exist, types first`, () => {
      expect(Object.keys(target)[0]).to.equal('types');
      for (const file of Object.values(target)) expect(existsSync(new URL(`../${file}`, import.meta.url)), file).to.equal(true);
    });
  }

  it('require() of every entry point works from CommonJS', () => {
    const script = `
      const root = require('group-cache');
      const express = require('group-cache/express');
      const koa = require('group-cache/koa');
      const redis = require('group-cache/redis');
      console.log(JSON.stringify([typeof root.createCache, typeof express.groupCache, typeof koa.groupCache, typeof redis.redisStore]));`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: new URL('..', import.meta.url) }).toString();
    expect(JSON.parse(out)).to.deep.equal(['function', 'function', 'function', 'function']);
  });

  it('the ESM and CommonJS builds share one default cache', () => {
    const cjs = require('group-cache') as typeof root;
    expect(cjs.defaultCache()).to.equal(root.defaultCache());
  });
});
