using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Integration;

/// <summary>
/// Counts round trips twice: the operations the cache's own connection sent (client counters) and the commands the
/// server executed (INFO commandstats, which also counts the commands a script runs inside it).
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RoundTripTests(RedisFixture redis)
{
    // Commands the test itself or the client's housekeeping send; everything else is the cache's work.
    private static readonly string[] NotOurs = ["info", "config", "ping", "echo", "client", "cluster", "subscribe", "command", "select", "script"];

    private async Task<Dictionary<string, long>> ServerCommandsAsync()
    {
        IReadOnlyDictionary<string, long> stats = await redis.CommandStatsAsync();
        return stats.Where(s => !NotOurs.Any(n => s.Key.StartsWith(n, StringComparison.Ordinal)))
            .ToDictionary(s => s.Key, s => s.Value);
    }

    private static long Sent(ConnectionMultiplexer connection) => connection.GetCounters().Interactive.OperationCount;

    [Fact]
    public async Task Hit_sends_exactly_one_command_version_resolution_included()
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        using SmartCache cache = TestCache.Create(redis, connection: connection);
        CacheKey key = CacheKey.Create("docs:technical", "install-guide"); // three versions to resolve
        await cache.GetOrSetAsync(key, _ => ValueTask.FromResult(new Product(1, "Guide", 0m, 1)));

        await redis.ResetStatsAsync();
        long sentBefore = Sent(connection);
        int calls = 0;
        Product hit = await cache.GetOrSetAsync(key, _ => { calls++; return ValueTask.FromResult(new Product(0, "", 0m, 0)); });
        long sent = Sent(connection) - sentBefore;
        Dictionary<string, long> server = await ServerCommandsAsync();

        Assert.Equal(0, calls);
        Assert.Equal("Guide", hit.Name);
        Assert.Equal(1, sent);
        // One MGET of the global, "docs" and "docs:technical" versions and the entry under the stamp they make.
        Assert.Equal(1, server["mget"]);
        Assert.Equal(1, server.Values.Sum());
    }

    [Fact]
    public async Task First_read_of_a_scope_and_reads_after_a_bump_fall_back_to_the_script_once()
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        using SmartCache cache = TestCache.Create(connection, o => o.VersionShards = 1);
        using SmartCache writer = TestCache.Create(redis, o => { o.KeyPrefix = cache.Layout.Prefix; o.VersionShards = 1; });
        CacheKey key = CacheKey.Create("k");
        await writer.SetAsync(key, "v1");

        await redis.ResetStatsAsync();
        await cache.GetAsync<string>(key); // this process has not seen the stamp yet: the script resolves it
        await cache.GetAsync<string>(key); // now a plain MGET
        Dictionary<string, long> warm = await ServerCommandsAsync();
        await writer.InvalidateAllAsync();
        await writer.SetAsync(key, "v2");
        await redis.ResetStatsAsync();
        CacheResult<string> afterBump = await cache.GetAsync<string>(key); // MGET sees the new version: script once
        CacheResult<string> next = await cache.GetAsync<string>(key);
        Dictionary<string, long> bumped = await ServerCommandsAsync();

        Assert.Equal(1, warm["evalsha"]);
        Assert.Equal(1, warm["mget"]);
        Assert.Equal("v2", afterBump.Value); // never the old version's entry
        Assert.Equal("v2", next.Value);
        Assert.Equal(2, bumped["mget"]);
        Assert.Equal(1, bumped["evalsha"]);
    }

    [Fact]
    public async Task Miss_sends_one_read_and_one_conditional_write()
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        using SmartCache cache = TestCache.Create(redis, o => o.VersionShards = 1, connection); // one scope: its stamp is known after the warm-up
        await cache.InvalidateAllAsync(); // every shard's version exists…
        await cache.GetOrSetAsync(CacheKey.Create("warm-up"), _ => ValueTask.FromResult(0)); // …and the scripts are loaded

        await redis.ResetStatsAsync();
        long sentBefore = Sent(connection);
        await cache.GetOrSetAsync(CacheKey.Create("fresh"), _ => ValueTask.FromResult(1));
        long sent = Sent(connection) - sentBefore;
        Dictionary<string, long> server = await ServerCommandsAsync();

        // The MGET finds no entry under the known stamp; the read script then takes the lease; the write script stores.
        Assert.Equal(3, sent);
        Assert.Equal(1, server["mget"]);
        Assert.Equal(2, server["evalsha"]);
    }

    [Fact]
    public async Task Script_flushed_from_the_server_is_recovered()
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        using SmartCache cache = TestCache.Create(redis, connection: connection);
        CacheKey key = CacheKey.Create("k");
        await cache.SetAsync(key, "v");
        foreach (var endpoint in redis.Admin.GetEndPoints())
        {
            await redis.Admin.GetServer(endpoint).ScriptFlushAsync();
        }

        // Misses run the read script (hits do not): each new key below needs it.
        await redis.ResetStatsAsync();
        CacheResult<string> afterFlush = await cache.GetAsync<string>(CacheKey.Create("miss-1"));
        Dictionary<string, long> recovery = await ServerCommandsAsync();
        await redis.ResetStatsAsync();
        CacheResult<string> next = await cache.GetAsync<string>(CacheKey.Create("miss-2"));
        Dictionary<string, long> steady = await ServerCommandsAsync();

        Assert.False(afterFlush.Found);
        Assert.False(next.Found);
        Assert.Equal("v", (await cache.GetAsync<string>(key)).Value);
        Assert.Equal(1, recovery.GetValueOrDefault("evalsha")); // answered NOSCRIPT…
        Assert.Equal(1, recovery.GetValueOrDefault("eval"));    // …so the script was sent once more
        Assert.Equal(1, steady["evalsha"]);
        Assert.False(steady.ContainsKey("eval"));
    }
}
