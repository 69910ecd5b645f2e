using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;

namespace CacheInvalidation.Tests.Integration;

/// <summary>Counts the commands the server executed (INFO commandstats), so a claim about round trips can fail.</summary>
[Collection(RedisCollection.Name)]
public sealed class RoundTripTests(RedisFixture redis)
{
    // Commands the test itself or the client's housekeeping send; everything else is the cache's work.
    private static readonly string[] NotOurs = ["info", "config", "ping", "echo", "client", "cluster", "subscribe", "command", "select"];

    private async Task<Dictionary<string, long>> CacheCommandsAsync()
    {
        IReadOnlyDictionary<string, long> stats = await redis.CommandStatsAsync();
        return stats.Where(s => !NotOurs.Any(n => s.Key.StartsWith(n, StringComparison.Ordinal)))
            .ToDictionary(s => s.Key, s => s.Value);
    }

    [Fact]
    public async Task Hit_sends_exactly_one_command_version_resolution_included()
    {
        using SmartCache cache = TestCache.Create(redis);
        CacheKey key = CacheKey.Create("docs:technical", "install-guide"); // three versions to resolve
        await cache.GetOrSetAsync(key, _ => ValueTask.FromResult(new Product(1, "Guide", 0m, 1)));

        await redis.ResetStatsAsync();
        int calls = 0;
        Product hit = await cache.GetOrSetAsync(key, _ => { calls++; return ValueTask.FromResult(new Product(0, "", 0m, 0)); });
        Dictionary<string, long> commands = await CacheCommandsAsync();

        Assert.Equal(0, calls);
        Assert.Equal("Guide", hit.Name);
        Assert.Equal(1, commands.Values.Sum());
        Assert.Equal(1, commands["evalsha"]);
    }

    [Fact]
    public async Task Miss_sends_one_read_and_one_conditional_write()
    {
        using SmartCache cache = TestCache.Create(redis);
        await cache.SetAsync(CacheKey.Create("warm-up"), 0); // versions exist, scripts loaded

        await redis.ResetStatsAsync();
        await cache.GetOrSetAsync(CacheKey.Create("fresh"), _ => ValueTask.FromResult(1));
        Dictionary<string, long> commands = await CacheCommandsAsync();

        Assert.Equal(2, commands.Values.Sum());
        Assert.Equal(2, commands["evalsha"]);
    }

    [Fact]
    public async Task Script_flushed_from_the_server_is_recovered()
    {
        using SmartCache cache = TestCache.Create(redis);
        CacheKey key = CacheKey.Create("k");
        await cache.SetAsync(key, "v");
        foreach (var endpoint in redis.Admin.GetEndPoints())
        {
            await redis.Admin.GetServer(endpoint).ScriptFlushAsync();
        }

        await redis.ResetStatsAsync();
        CacheResult<string> afterFlush = await cache.GetAsync<string>(key);
        Dictionary<string, long> recovery = await CacheCommandsAsync();
        await redis.ResetStatsAsync();
        CacheResult<string> next = await cache.GetAsync<string>(key);
        Dictionary<string, long> steady = await CacheCommandsAsync();

        Assert.Equal("v", afterFlush.Value);
        Assert.Equal("v", next.Value);
        Assert.True(recovery.GetValueOrDefault("eval") >= 1, "the script should have been re-sent with EVAL after NOSCRIPT");
        Assert.Equal(1, steady.Values.Sum());
        Assert.Equal(1, steady["evalsha"]);
    }
}
