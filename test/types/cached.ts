/*
 * Type tests for @cached, compiled by test/package/types.test.ts with TypeScript 5 and 7, with standard decorators
 * (tsconfig.json) and with experimentalDecorators + emitDecoratorMetadata (tsconfig.decorators-legacy.json): the
 * same lines type-check, and fail, under both. Nothing here runs.
 */
import { expectTypeOf } from 'expect-type';
import { type CachedDecorator, type CachedOptions, cached, createCache, type MaybePromise } from 'group-cache';

interface User {
  id: string;
  name: string;
}
declare function getUser(id: string): Promise<User>;
const cache = createCache();

class Users {
  readonly tenant = 'acme';

  @cached({ key: (id: string) => `user_${id}`, groups: (id: string) => [`user_group_${id}`, 'users'], ttl: 60_000 })
  async get(id: string): Promise<User> {
    return getUser(id);
  }

  // A synchronous body: declared MaybePromise<T>, since the decorated method returns a Promise.
  @cached({ cache, key: (a: number, b: number) => `sum_${a}_${b}`, groups: ['sums'] })
  sum(a: number, b: number): MaybePromise<number> {
    return a + b;
  }

  @cached({
    key(this: Users, id: string) {
      return `${this.tenant}:user_${id}`;
    },
  })
  async ofTenant(id: string): Promise<User> {
    return getUser(id);
  }

  // More parameters than the key function reads.
  @cached({ key: (id: string) => ({ key: `page_${id}`, ttl: 5_000 }), staleWhileRevalidate: 1_000, serializer: 'v8' })
  async page(id: string, _page?: number): Promise<User[]> {
    return [await getUser(id)];
  }

  @cached({ key: (): string => 'users_all', groups: ['users'] })
  static async all(): Promise<User[]> {
    return [];
  }

  // @ts-expect-error a return type no Promise fits: the decorated method returns one (declare it async, or MaybePromise<number>)
  @cached({ key: (id: string) => `count_${id}` })
  count(id: string): number {
    return id.length;
  }

  // @ts-expect-error the method's arguments must fit the key function's
  @cached({ key: (id: number) => `user_${id}` })
  async byNumber(id: string): Promise<User> {
    return getUser(id);
  }

  // @ts-expect-error the key function's `this` must be the class's
  @cached({
    key(this: Date, id: string) {
      return `${this.getTime()}_${id}`;
    },
  })
  async byDate(id: string): Promise<User> {
    return getUser(id);
  }

  // @ts-expect-error a key is a string, a { key, groups?, ttl? } spec or a falsy value
  @cached({ key: (id: string) => id.length })
  async byLength(id: string): Promise<User> {
    return getUser(id);
  }

  // @ts-expect-error group names are strings
  @cached({ key: (id: string) => id, groups: (id: string) => [id.length] })
  async numberGroups(id: string): Promise<User> {
    return getUser(id);
  }

  // @ts-expect-error an unknown option
  @cached({ key: (id: string) => id, tll: 5_000 })
  async typo(id: string): Promise<User> {
    return getUser(id);
  }
}

const users = new Users();
expectTypeOf(users.get('1')).toEqualTypeOf<Promise<User>>();
expectTypeOf(users.sum(1, 2)).toEqualTypeOf<MaybePromise<number>>();
expectTypeOf(users.page('1', 2)).toEqualTypeOf<Promise<User[]>>();
expectTypeOf(Users.all()).toEqualTypeOf<Promise<User[]>>();
export async function reads(): Promise<void> {
  expectTypeOf(await users.sum(1, 2)).toEqualTypeOf<number>();
  expectTypeOf(await users.ofTenant('1')).toEqualTypeOf<User>();
}

expectTypeOf(cached({ key: (id: string) => id })).toEqualTypeOf<CachedDecorator<unknown, [id: string]>>();
const options: CachedOptions<unknown, [id: string]> = { key: (id) => `user_${id}`, groups: (id) => [`user_group_${id}`] };
cached(options);
// @ts-expect-error a key function is required
cached({ groups: ['users'] });
