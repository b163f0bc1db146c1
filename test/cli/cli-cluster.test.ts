/*
 * The command line on Redis Cluster (`--cluster host:port,...`): its expiry reaches a cache of another process on
 * the same cluster and prefix, and `stats` reads every bucket.
 */
import { expect } from 'chai';
import { createCache, type GroupCache } from 'group-cache';
import { redisStore } from 'group-cache/redis';
import type { Cluster } from 'ioredis';
import { runCli } from '../helpers/cli.js';
import { connectCluster, type RedisCluster, startClusterOrSkip } from '../helpers/redis-cluster.js';
import { uniquePrefix } from '../helpers/redis-server.js';

describe('the command line on Redis Cluster', function () {
  this.timeout(60_000);
  let cluster: RedisCluster;
  let client: Cluster;
  let cache: GroupCache;
  let prefix: string;

  before(async function () {
    cluster = await startClusterOrSkip(this);
    client = await connectCluster(cluster);
    prefix = uniquePrefix('clicluster');
    cache = createCache({ store: redisStore({ client, prefix }), storeTimeout: 5_000, expireFromCodeOnly: true });
    // The first call makes every bucket's epoch, clockSkew ahead: fills that start before it passes are refused.
    await cache.getOrSet('warm-up', () => 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
  });

  after(async () => {
    await cache?.close();
    client?.disconnect();
    await cluster?.stop();
  });

  const nodes = () => cluster.nodes.map((node) => `127.0.0.1:${node.port}`).join(',');

  it('expire <group> --cluster: the next read of a cache on the cluster loads again', async () => {
    let loads = 0;
    const load = () => cache.getOrSet('profile_1', async () => ++loads, { groups: ['profiles', 'team_1'] });
    expect(await load()).to.equal(1);
    expect(await load(), 'a hit').to.equal(1);

    const run = await runCli(['expire', 'profiles', '--cluster', nodes(), '--prefix', prefix, '--json']);
    expect(run.code, run.stderr).to.equal(0);
    expect(JSON.parse(run.stdout)).to.include({ ok: true, command: 'expire' });
    expect(await load(), 'a miss after the expiry').to.equal(2);
    expect(await load()).to.equal(2);

    const key = await runCli(['expire-key', 'profile_1', '--cluster', nodes(), '--prefix', prefix]);
    expect(key.code, key.stderr).to.equal(0);
    expect(await load(), 'a miss after expire-key').to.equal(3);
  });

  it('stats --cluster: the records and streams of every bucket', async () => {
    const run = await runCli(['stats', '--cluster', nodes(), '--prefix', prefix, '--json', '--entries']);
    expect(run.code, run.stderr).to.equal(0);
    const stats = JSON.parse(run.stdout);
    expect(stats).to.include({ mode: 'cluster', prefix });
    expect(stats.records).to.be.at.least(2);
    expect(stats.stream.published).to.be.at.least(2);
    expect(stats.lastExpiry.name).to.equal('key "profile_1"');
    expect(stats.epochs.oldest).to.be.a('string');
    expect(stats.entries).to.be.at.least(1);
  });

  it('a prefix with { or } is refused on a cluster: exit code 2', async () => {
    const run = await runCli(['expire', 'x', '--cluster', nodes(), '--prefix', '{bad}']);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.match(/must not hold \{ or \} on Redis Cluster/);
  });
});
