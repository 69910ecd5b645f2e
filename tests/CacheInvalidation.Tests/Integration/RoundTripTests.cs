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
        Assert.Equal(1, server["evalsha"]);
        // Inside that one script: GET of the global, "docs" and "docs:technical" versions, then of the entry.
        Assert.Equal(4, server["get"]);
        Assert.Equal(5, server.Values.Sum());
    }

    [Fact]
    public async Task Miss_sends_one_read_and_one_conditional_write()
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        using SmartCache cache = TestCache.Create(redis, connection: connection);
        await cache.InvalidateAllAsync(); // every shard's version exists…
        await cache.GetOrSetAsync(CacheKey.Create("warm-up"), _ => ValueTask.FromResult(0)); // …and the scripts are loaded

        await redis.ResetStatsAsync();
        long sentBefore = Sent(connection);
        await cache.GetOrSetAsync(CacheKey.Create("fresh"), _ => ValueTask.FromResult(1));
        long sent = Sent(connection) - sentBefore;
        Dictionary<string, long> server = await ServerCommandsAsync();

        Assert.Equal(2, sent);
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

        await redis.ResetStatsAsync();
        CacheResult<string> afterFlush = await cache.GetAsync<string>(key);
        Dictionary<string, long> recovery = await ServerCommandsAsync();
        await redis.ResetStatsAsync();
        long sentBefore = Sent(connection);
        CacheResult<string> next = await cache.GetAsync<string>(key);
        long sent = Sent(connection) - sentBefore;
        Dictionary<string, long> steady = await ServerCommandsAsync();

        Assert.Equal("v", afterFlush.Value);
        Assert.Equal("v", next.Value);
        Assert.Equal(1, recovery.GetValueOrDefault("evalsha")); // answered NOSCRIPT…
        Assert.Equal(1, recovery.GetValueOrDefault("eval"));    // …so the script was sent once more
        Assert.Equal(1, sent);
        Assert.Equal(1, steady["evalsha"]);
        Assert.False(steady.ContainsKey("eval"));
    }
}
