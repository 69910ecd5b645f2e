using CacheInvalidation.Client;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Integration;

/// <summary>The LRU configuration strategy, each test on a private server so memory settings never leak into others.</summary>
public sealed class MemoryPolicyTests
{
    private static SmartCacheAdministration Admin(IConnectionMultiplexer connection, Action<MemoryPolicyOptions>? configure = null)
    {
        var options = new SmartCacheOptions { KeyPrefix = "mem" };
        configure?.Invoke(options.Memory);
        return new SmartCacheAdministration(options, RedisConnection.FromExisting(connection), null, null);
    }

    [Fact]
    public async Task Default_server_is_reported_as_unlimited_and_not_evicting()
    {
        using RedisServerProcess server = RedisServerProcess.Start();
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",allowAdmin=true");

        MemoryPolicyReport report = await Admin(connection).InspectMemoryPolicyAsync();

        Assert.True(report.ConfigAvailable);
        Assert.Equal(0, report.MaxMemoryBytes);
        Assert.Equal("noeviction", report.EvictionPolicy);
        Assert.Contains(report.Warnings, w => w.Contains("no limit", StringComparison.Ordinal));
        Assert.Contains(report.Warnings, w => w.Contains("noeviction", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Server_without_config_gives_a_warning_not_a_crash()
    {
        using RedisServerProcess server = RedisServerProcess.Start("--rename-command", "CONFIG", "");
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",allowAdmin=true");

        MemoryPolicyReport report = await Admin(connection, m => { m.Apply = true; m.EvictionPolicy = "allkeys-lru"; }).InspectMemoryPolicyAsync();

        Assert.False(report.ConfigAvailable);
        Assert.Null(report.EvictionPolicy);
        Assert.Empty(report.Applied);
        Assert.Contains(report.Warnings, w => w.Contains("CONFIG is not available", StringComparison.Ordinal));
        Assert.Contains(report.Warnings, w => w.Contains("CONFIG SET maxmemory-policy", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Configured_limit_and_policy_are_applied()
    {
        using RedisServerProcess server = RedisServerProcess.Start();
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",allowAdmin=true");

        MemoryPolicyReport report = await Admin(connection, m => { m.Apply = true; m.MaxMemory = "2mb"; m.EvictionPolicy = "allkeys-lru"; }).InspectMemoryPolicyAsync();

        Assert.Equal(["maxmemory 2mb", "maxmemory-policy allkeys-lru"], report.Applied);
        Assert.Equal(2 * 1024 * 1024, report.MaxMemoryBytes);
        Assert.Equal("allkeys-lru", report.EvictionPolicy);
        Assert.Single(report.Warnings, w => w.Contains("Prefer volatile-lru", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Opt_in_start_up_check_applies_the_configured_policy_when_the_host_starts()
    {
        using RedisServerProcess server = RedisServerProcess.Start();
        var services = new ServiceCollection();
        services.AddSmartCache(o =>
        {
            o.Configuration = server.ConnectionString + ",allowAdmin=true";
            o.Memory.CheckOnStart = true;
            o.Memory.Apply = true;
            o.Memory.MaxMemory = "64mb";
            o.Memory.EvictionPolicy = "volatile-lru";
        });
        await using ServiceProvider provider = services.BuildServiceProvider();

        foreach (IHostedService hosted in provider.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        await using ConnectionMultiplexer check = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",allowAdmin=true");
        IServer redisServer = check.GetServer(check.GetEndPoints()[0]);
        Assert.Equal("volatile-lru", (await redisServer.ConfigGetAsync("maxmemory-policy")).Single().Value);
        Assert.Equal((64 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture), (await redisServer.ConfigGetAsync("maxmemory")).Single().Value);
    }

    [Fact]
    public async Task Volatile_policy_with_entries_that_never_expire_is_reported()
    {
        using RedisServerProcess server = RedisServerProcess.Start("--maxmemory", "64mb", "--maxmemory-policy", "volatile-lru");
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",allowAdmin=true");
        var options = new SmartCacheOptions { KeyPrefix = "mem" };
        options.ContentTypePolicies[global::CacheInvalidation.Policy.ContentType.StaticFacts] = global::CacheInvalidation.Policy.CachePolicy.WithoutExpiration;

        MemoryPolicyReport report = await new SmartCacheAdministration(options, RedisConnection.FromExisting(connection), null, null).InspectMemoryPolicyAsync();

        Assert.Contains(report.Warnings, w => w.Contains("content type StaticFacts", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("volatile-lru")]
    [InlineData("allkeys-lru")]
    public async Task Cache_keeps_working_when_a_small_limit_evicts_entries(string policy)
    {
        using RedisServerProcess server = RedisServerProcess.Start("--maxmemory", "2mb", "--maxmemory-policy", policy);
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",allowAdmin=true");
        using SmartCache cache = TestCache.Create(connection, o => o.KeyPrefix = "mem");
        string payload = new('x', 10_000);
        int loads = 0;

        // 600 entries of 10 KB: three times the limit.
        for (int i = 0; i < 600; i++)
        {
            await cache.GetOrSetAsync(CacheKey.Entity("blob", i), _ => { loads++; return ValueTask.FromResult(payload); },
                new CacheEntryOptions { DependsOn = [$"blob-source:{i % 10}"] });
        }

        // Newest first: a cyclic re-read in write order would thrash any LRU cache smaller than the data.
        int misses = 0;
        for (int i = 599; i >= 0; i--)
        {
            string value = await cache.GetOrSetAsync(CacheKey.Entity("blob", i), _ => { misses++; return ValueTask.FromResult(payload); });
            Assert.Equal(payload, value);
        }

        IServer redisServer = connection.GetServer(connection.GetEndPoints()[0]);
        long evicted = long.Parse(redisServer.Info("stats").SelectMany(g => g).First(p => p.Key == "evicted_keys").Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(600, loads);
        Assert.True(evicted > 0, "the limit should have evicted keys");
        if (policy == "volatile-lru")
        {
            Assert.InRange(misses, 1, 599); // evicted entries are misses; the rest are still hits
        }
        else
        {
            // allkeys-lru may also evict version keys (its LRU clock has one-second resolution, so hot and cold keys
            // look alike); a lost version restarts higher and its shard misses: correct, but fewer hits.
            Assert.InRange(misses, 1, 600);
        }
    }
}
