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

    /// <summary>These tests count the Redis protocol's commands: the local tier (its hits and confirmation reads) is off.</summary>
    private static void NoLocalTier(SmartCacheOptions options) => options.LocalCache.Enabled = false;

    private static long Sent(ConnectionMultiplexer connection) => connection.GetCounters().Interactive.OperationCount;

    [Fact]
    public async Task Hit_sends_exactly_one_command_version_resolution_included()
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        using SmartCache cache = TestCache.Create(redis, NoLocalTier, connection);
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
    public async Task First_read_of_a_scope_and_reads_after_a_bump_are_one_MGET_too()
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        using SmartCache cache = TestCache.Create(connection, o => { o.VersionShards = 1; NoLocalTier(o); });
        using SmartCache writer = TestCache.Create(redis, o => { o.KeyPrefix = cache.Layout.Prefix; o.VersionShards = 1; });
        CacheKey key = CacheKey.Create("k");
        await writer.SetAsync(key, "v1");

        await redis.ResetStatsAsync();
        CacheResult<string> first = await cache.GetAsync<string>(key); // a process that never read this scope: no state needed
        Dictionary<string, long> cold = await ServerCommandsAsync();
        await writer.InvalidateAllAsync();
        await redis.ResetStatsAsync();
        CacheResult<string> afterBump = await cache.GetAsync<string>(key); // the stamp in the entry no longer matches
        await writer.SetAsync(key, "v2");
        CacheResult<string> rewritten = await cache.GetAsync<string>(key);
        Dictionary<string, long> bumped = await ServerCommandsAsync();

        Assert.Equal("v1", first.Value);
        Assert.Equal(1, cold["mget"]);
        Assert.Equal(1, cold.Values.Sum());
        Assert.False(afterBump.Found); // never the old version's entry
        Assert.Equal("v2", rewritten.Value);
        Assert.Equal(2, bumped["mget"]);
        Assert.Equal(1, bumped["evalsha"]); // the writer's set; the reader ran no script
    }

    [Fact]
    public async Task Miss_sends_one_read_and_one_conditional_write()
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        using SmartCache cache = TestCache.Create(redis, o => { o.VersionShards = 1; NoLocalTier(o); }, connection);
        await cache.GetOrSetAsync(CacheKey.Create("warm-up"), _ => ValueTask.FromResult(0)); // the scripts are loaded

        await redis.ResetStatsAsync();
        long sentBefore = Sent(connection);
        await cache.GetOrSetAsync(CacheKey.Create("fresh"), _ => ValueTask.FromResult(1));
        long sent = Sent(connection) - sentBefore;
        Dictionary<string, long> server = await ServerCommandsAsync();

        // The MGET finds no entry; the lease script takes the lease; the write script stores.
        Assert.Equal(3, sent);
        Assert.Equal(1, server["mget"]);
        Assert.Equal(2, server["evalsha"]);
    }

    [Fact]
    public async Task Direct_set_is_one_script_and_with_sources_three_round_trips()
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        using SmartCache cache = TestCache.Create(redis, o => { o.VersionShards = 1; NoLocalTier(o); }, connection);
        await cache.SetAsync(CacheKey.Create("warm-up"), 0, new CacheEntryOptions { DependsOn = ["s:0"] }); // scripts loaded
        await cache.SetAsync(CacheKey.Create("warm-up"), 0);

        await redis.ResetStatsAsync();
        long before = Sent(connection);
        await cache.SetAsync(CacheKey.Create("plain"), 1);
        long plain = Sent(connection) - before;
        before = Sent(connection);
        await cache.SetAsync(CacheKey.Create("derived"), 2, new CacheEntryOptions { DependsOn = ["s:1"] });
        long derived = Sent(connection) - before;

        Assert.Equal(1, plain);   // voids any lease and writes, atomically
        Assert.Equal(3, derived); // takes the lease, registers in the source, writes if still allowed
        Assert.Equal(4, (await ServerCommandsAsync())["evalsha"]);
    }

    [Fact]
    public async Task Script_flushed_from_the_server_is_recovered()
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        using SmartCache cache = TestCache.Create(redis, NoLocalTier, connection);
        CacheKey key = CacheKey.Create("k");
        await cache.SetAsync(key, "v");
        foreach (var endpoint in redis.Admin.GetEndPoints())
        {
            await redis.Admin.GetServer(endpoint).ScriptFlushAsync();
        }

        // Misses run the lease script (hits do not): each new key below needs it.
        await redis.ResetStatsAsync();
        string afterFlush = await cache.GetOrSetAsync(CacheKey.Create("miss-1"), _ => ValueTask.FromResult("1"));
        Dictionary<string, long> recovery = await ServerCommandsAsync();
        await redis.ResetStatsAsync();
        string next = await cache.GetOrSetAsync(CacheKey.Create("miss-2"), _ => ValueTask.FromResult("2"));
        Dictionary<string, long> steady = await ServerCommandsAsync();

        Assert.Equal("1", afterFlush);
        Assert.Equal("2", next);
        Assert.Equal("v", (await cache.GetAsync<string>(key)).Value);
        Assert.Equal("1", (await cache.GetAsync<string>(CacheKey.Create("miss-1"))).Value);
        Assert.Equal(2, recovery.GetValueOrDefault("evalsha")); // the lease and write scripts each answered NOSCRIPT…
        Assert.Equal(2, recovery.GetValueOrDefault("eval"));    // …so each was sent once more
        Assert.Equal(2, steady["evalsha"]);
        Assert.False(steady.ContainsKey("eval"));
    }
}
