import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import * as root from 'group-cache';
import ts from 'typescript';

const require = createRequire(import.meta.url);
type Conditions = { [condition: string]: string | Conditions };
const pkg = require('../../package.json') as { exports: Record<string, Conditions | string> };

// The root entry's public surface: what the README documents, for apps and for custom stores. Adding a name
// here is a decision to support it; internals are imported from their own modules (lib/core/keys.js, ...).
const PUBLIC_VALUES = [
  'GroupCache',
  'GroupCacheError',
  'MAX_TTL',
  'cached',
  'createCache',
  'defaultCache',
  'memoryStore',
  'setDefaultCache',
];
const PUBLIC_TYPES = [
  'BypassEvent',
  'BypassReason',
  'CacheControlInfo',
  'CacheControlOption',
  'CacheOperation',
  'CacheOptions',
  'CacheStats',
  'CacheStore',
  'CacheTelemetry',
  'CachedDecorator',
  'CachedEntry',
  'CachedGroups',
  'CachedOptions',
  'DataKeyResult',
  'DataKeySpec',
  'DataOptions',
  'EdgeOptions',
  'EvictEvent',
  'EvictionReason',
  'ExpireCallOptions',
  'ExpireEvent',
  'ExpireOptions',
  'ExpiryTrigger',
  'GroupCacheErrorCode',
  'GroupCacheEvents',
  'GroupName',
  'GroupNames',
  'HeaderList',
  'HeaderValue',
  'HitEvent',
  'InspectedEntry',
  'InspectOptions',
  'KeyEvent',
  'KeyFunction',
  'KeyResult',
  'KeySpec',
  'LookupOutcome',
  'MaybePromise',
  'MemoryStoreOptions',
  'NotStoredEvent',
  'NotStoredReason',
  'OperationInfo',
  'OperationResult',
  'PeekLookup',
  'PurgeOptions',
  'Purger',
  'RouteOptions',
  'Serializer',
  'SerializerOption',
  'StoreEvent',
  'StoreLookup',
  'StoreRefusal',
  'StoreStats',
  'TelemetryScope',
];

/** Every name a declaration file exports, types and values alike, as the TypeScript checker sees it. */
function declaredExports(file: string): string[] {
  const program = ts.createProgram([file], { noEmit: true, skipLibCheck: true, types: [] });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  const symbol = source && checker.getSymbolAtLocation(source);
  if (!symbol) throw new Error(`${file} is not a module`);
  return checker
    .getExportsOfModule(symbol)
    .map((s) => s.name)
    .sort();
}

/** The leaves of a conditional export, with the path of conditions that leads to each. */
function leaves(target: Conditions, path: string[] = []): Array<[string[], string]> {
  return Object.entries(target).flatMap(
    ([condition, value]): Array<[string[], string]> =>
      typeof value === 'string' ? [[[...path, condition], value]] : leaves(value, [...path, condition]),
  );
}

describe('package exports', () => {
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue;
    it(`${subpath}: import and require each have their own types, listed first, and every file exists`, () => {
      expect(Object.keys(target)).to.deep.equal(['import', 'require']);
      for (const branch of ['import', 'require']) {
        const conditions = target[branch];
        expect(conditions, branch).to.be.an('object');
        expect(Object.keys(conditions as Conditions), branch).to.deep.equal(['types', 'default']);
      }
      for (const [conditions, file] of leaves(target)) {
        const build = conditions[0] === 'import' ? 'esm' : 'cjs';
        expect(file.startsWith(`./dist/${build}/`), `${conditions.join('.')}: ${file}`).to.equal(true);
        expect(existsSync(new URL(`../../${file}`, import.meta.url)), file).to.equal(true);
      }
    });
  }

  it('the CommonJS build and its declarations are marked as CommonJS', () => {
    expect(require('../../dist/cjs/package.json')).to.deep.equal({ type: 'commonjs' });
  });

  it('require() of every entry point works from CommonJS', () => {
    const script = `
      const root = require('group-cache');
      const express = require('group-cache/express');
      const fastify = require('group-cache/fastify');
      const fetch = require('group-cache/fetch');
      const hono = require('group-cache/hono');
      const koa = require('group-cache/koa');
      const nest = require('group-cache/nest');
      const redis = require('group-cache/redis');
      const suite = require('group-cache/test-suite');
      console.log(JSON.stringify([typeof root.createCache, typeof express.groupCache, typeof fastify.groupCache, typeof fetch.groupCache, typeof hono.groupCache, typeof koa.groupCache, typeof nest.GroupCache, typeof redis.redisStore, typeof suite.storeConformance, typeof suite.adapterConformance]));`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: new URL('../..', import.meta.url) }).toString();
    expect(JSON.parse(out)).to.deep.equal(Array(10).fill('function'));
  });

  it('group-cache/nest: the ESM and CommonJS builds export the same names, and share the injection token', async () => {
    const esm = await import('group-cache/nest');
    const cjs = require('group-cache/nest') as typeof esm;
    expect(Object.keys(cjs).sort()).to.deep.equal(Object.keys(esm).sort());
    expect(cjs.GROUP_CACHE).to.equal(esm.GROUP_CACHE);
  });

  it('the ESM and CommonJS builds share one default cache', () => {
    const cjs = require('group-cache') as typeof root;
    expect(cjs.defaultCache()).to.equal(root.defaultCache());
  });

  describe('the root entry exports exactly the documented names', () => {
    it('at run time, from ESM and from CommonJS', () => {
      expect(Object.keys(root).sort()).to.deep.equal(PUBLIC_VALUES);
      expect(Object.keys(require('group-cache') as object).sort()).to.deep.equal(PUBLIC_VALUES);
    });

    for (const build of ['esm', 'cjs']) {
      it(`in the ${build} declarations, types included`, () => {
        const file = fileURLToPath(new URL(`../../dist/${build}/lib/index.d.ts`, import.meta.url));
        expect(declaredExports(file)).to.deep.equal([...PUBLIC_VALUES, ...PUBLIC_TYPES].sort());
      });
    }
  });

  it('group-cache/test-suite exports the suites, their types and the helpers scenarios use, from ESM and CommonJS', async () => {
    const values = [
      'BINARY',
      'above',
      'adapterConformance',
      'atLeast',
      'atMost',
      'below',
      'deferred',
      'expectSequence',
      'includes',
      'interceptExpire',
      'json',
      'listen',
      'purgerConformance',
      'send',
      'storeConformance',
      'within',
    ];
    const types = [
      'AdapterDriver',
      'AppBlueprint',
      'Calls',
      'ConformanceOptions',
      'EdgeState',
      'Harness',
      'HarnessOptions',
      'Listening',
      'PurgerFactory',
      'PurgerFixture',
      'RawResponse',
      'RequestView',
      'RouteResponse',
      'RouteSpec',
      'RunnerOption',
      'Scenario',
      'StoreFactory',
      'StoreFixture',
      'StoreFixtureOptions',
      'SuiteContext',
      'TestRunner',
      'ViewKeyFunction',
    ];
    expect(Object.keys(await import('group-cache/test-suite')).sort()).to.deep.equal(values);
    expect(Object.keys(require('group-cache/test-suite') as object).sort()).to.deep.equal(values);
    // One build's declarations: they come from one source, and each check loads @types/node (seconds).
    const file = fileURLToPath(new URL('../../dist/esm/test-suite/index.d.ts', import.meta.url));
    expect(declaredExports(file)).to.deep.equal([...values, ...types].sort());
  });

  for (const [entry, values, types] of [
    [
      'hono',
      ['addExpireGroups', 'expireGroups', 'groupCache', 'inspector'],
      ['ExpireOptions', 'GroupCacheVariables', 'HonoInspectorOptions', 'InspectorOptions', 'KeyFunction', 'RouteOptions'],
    ],
    [
      'fetch',
      ['addExpireGroups', 'expireGroups', 'groupCache', 'requestLocals'],
      ['ExpireOptions', 'FetchHandler', 'KeyFunction', 'RequestLocals', 'RouteOptions'],
    ],
  ] as const) {
    it(`group-cache/${entry} exports its documented names, from ESM and CommonJS`, async () => {
      expect(Object.keys(await import(`group-cache/${entry}`)).sort()).to.deep.equal(values);
      expect(Object.keys(require(`group-cache/${entry}`) as object).sort()).to.deep.equal(values);
      const file = fileURLToPath(new URL(`../../dist/esm/adapters/${entry}.d.ts`, import.meta.url));
      expect(declaredExports(file)).to.deep.equal([...values, ...types].sort());
    });
  }
});
