/*
 * Type tests for group-cache/nest, compiled by test/package/types.test.ts as a NestJS project is (tsconfig.nest.json:
 * experimentalDecorators and emitDecoratorMetadata), with TypeScript 5 and 7, against NestJS 12. Nothing here runs.
 */

import { Controller, Get, Inject, Injectable, Module, Param, Put, Req } from '@nestjs/common';
import { expectTypeOf } from 'expect-type';
import type { Request } from 'express';
import type { FastifyRequest } from 'fastify';
import { type GroupCache as Cache, createCache } from 'group-cache';
import {
  addExpireGroups,
  cacheLocals,
  ExpireGroups,
  GROUP_CACHE,
  GroupCache,
  GroupCacheModule,
  type NestRequest,
} from 'group-cache/nest';

interface User {
  id: string;
  name: string;
}

@Controller('users')
export class UsersController {
  // The default request: what both platforms have.
  @Get(':id')
  @GroupCache((req) => {
    expectTypeOf(req).toEqualTypeOf<NestRequest>();
    expectTypeOf(req.params.id).toEqualTypeOf<string>();
    return { key: `user_${req.params.id}`, groups: ['users'] };
  })
  findOne(@Param('id') id: string): User {
    return { id, name: 'Ann' };
  }

  // The platform's own request, named on the parameter.
  @Get(':id/express')
  @GroupCache((req: Request) => `user_${req.params.id}_${req.get('accept-language') ?? ''}`, { ttl: 5_000, vary: ['accept'] })
  onExpress(@Req() req: Request): string {
    cacheLocals(req).cacheGroups = ['express'];
    return 'ok';
  }

  @Get(':id/fastify')
  @GroupCache((req: FastifyRequest<{ Params: { id: string } }>) => `user_${req.params.id}`)
  onFastify(): string {
    return 'ok';
  }

  // The result is typed by the function's second parameter.
  @Put(':id')
  @ExpireGroups((req: NestRequest, user: User) => [`user_group_${user.id}`, `user_${req.params.id}`])
  update(@Param('id') id: string): User {
    return { id, name: 'Bob' };
  }

  @Put(':id/name')
  @ExpireGroups()
  rename(@Req() req: Request): void {
    addExpireGroups(req, ['users', 1]);
    // @ts-expect-error not a group name
    addExpireGroups(req, [{ id: 1 }]);
  }
}

// On a controller: every route of it.
@Controller('teams')
@ExpireGroups(() => 'teams')
export class TeamsController {}

// @ts-expect-error the key function is required
GroupCache();
// @ts-expect-error an option that does not exist
GroupCache(() => 'k', { tll: 5 });
// @ts-expect-error a key function returns a key, not a number
GroupCache(() => 42);

@Injectable()
export class UsersService {
  constructor(
    readonly cache: Cache,
    @Inject(GROUP_CACHE) readonly same: Cache,
  ) {}

  async rename(): Promise<void> {
    await this.cache.expireGroups('users');
  }
}

@Module({
  imports: [GroupCacheModule.forRoot({ ttl: 60_000, expire: { onError: 'continue' } })],
  controllers: [UsersController, TeamsController],
  providers: [UsersService],
})
export class AppModule {}

const TTL = Symbol('ttl');
GroupCacheModule.forRootAsync({
  inject: [TTL],
  useFactory: (ttl: number) => ({ ttl }),
});
GroupCacheModule.forRootAsync({ useFactory: async () => ({ cache: createCache() }) });
// @ts-expect-error useFactory returns the module's options
GroupCacheModule.forRootAsync({ useFactory: () => 42 });
// @ts-expect-error an option that does not exist
GroupCacheModule.forRoot({ tll: 5 });
