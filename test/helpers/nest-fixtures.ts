/*
 * NestJS 10 and 11 beside the repository's 12: each installed in its own folder (test/fixtures/nest10, nest11; .ci/run
 * installs them, and so does this helper when one is missing, unless under CI, where a missing one fails). The
 * adapter must load the app's own @nestjs/common, so each folder gets group-cache/nest of its own: the built
 * adapter file copied into its node_modules/group-cache, with dist/cjs/lib a symbolic link to the repository's
 * build, so that every other module (the cache, its errors, the process-wide state) is the one the tests load.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as Common from '@nestjs/common';
import type * as Core from '@nestjs/core';
import type * as GroupCacheNest from 'group-cache/nest';
import type { NestKit } from '../drivers/nest.js';
import { ROOT } from './repo.js';

export type NestMajor = 10 | 11;
export type NestPlatform = NestKit['platform'];

const fixtureDir = (major: NestMajor): string => join(ROOT, 'test/fixtures', `nest${major}`);

function installed(dir: string): boolean {
  return existsSync(join(dir, 'node_modules/@nestjs/core/package.json'));
}

function install(major: NestMajor): void {
  const dir = fixtureDir(major);
  if (installed(dir)) return;
  if (process.env.CI === 'true') {
    throw new Error(`NestJS ${major} is not installed in ${dir}: .ci/run installs it (npm ci --prefix ${dir})`);
  }
  execFileSync('npm', ['ci', '--prefix', dir, '--no-audit', '--no-fund'], { stdio: 'ignore', timeout: 300_000 });
}

/** Puts this build's group-cache/nest into the fixture (afresh: the build may have changed). */
function linkBuild(dir: string): void {
  const target = join(dir, 'node_modules/group-cache');
  rmSync(target, { recursive: true, force: true });
  mkdirSync(join(target, 'dist/cjs/adapters'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(target, 'package.json'));
  cpSync(join(ROOT, 'dist/cjs/package.json'), join(target, 'dist/cjs/package.json'));
  cpSync(join(ROOT, 'dist/cjs/adapters/nest.js'), join(target, 'dist/cjs/adapters/nest.js'));
  symlinkSync(join(ROOT, 'dist/cjs/lib'), join(target, 'dist/cjs/lib'), 'dir');
}

const loaded = new Map<NestMajor, (platform: NestPlatform) => NestKit>();

/** A loader of NestJS `major` from its fixture (installed, and given this build, on first use). */
export function nestFixture(major: NestMajor): (platform: NestPlatform) => NestKit {
  return (platform) => {
    let load = loaded.get(major);
    if (load === undefined) {
      install(major);
      const dir = fixtureDir(major);
      linkBuild(dir);
      const require = createRequire(join(dir, 'package.json'));
      const common = require('@nestjs/common') as typeof Common;
      const core = require('@nestjs/core') as typeof Core;
      const groupCache = require('group-cache/nest') as typeof GroupCacheNest;
      const adapters = {
        express: () => {
          const { ExpressAdapter } = require('@nestjs/platform-express') as typeof import('@nestjs/platform-express');
          return new ExpressAdapter();
        },
        fastify: () => {
          const { FastifyAdapter } = require('@nestjs/platform-fastify') as typeof import('@nestjs/platform-fastify');
          return new FastifyAdapter();
        },
      };
      const { version } = require('@nestjs/core/package.json') as { version: string };
      load = (which) => ({ common, core, groupCache, platform: which, adapter: adapters[which], version });
      loaded.set(major, load);
    }
    return load(platform);
  };
}
