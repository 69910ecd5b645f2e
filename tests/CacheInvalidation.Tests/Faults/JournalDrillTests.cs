using CacheInvalidation.Client;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Faults;

/// <summary>
/// Invalidations issued while Redis is frozen or down are not lost: the caller is told they were not confirmed, reads of
/// what they target are served from the source until they are applied, and they are applied as soon as Redis is back.
/// </summary>
public sealed class JournalDrillTests
{
    public enum Kind
    {
        Key,
        Source,
        NamespaceVersion,
        NamespaceScan,
        All,
    }

    private static readonly CacheKey Target = CacheKey.Create("docs:guides", "install");
    private static readonly CacheKey Bystander = CacheKey.Create("faq", "billing");

    [Theory]
    [InlineData(Kind.Key)]
    [InlineData(Kind.Source)]
    [InlineData(Kind.NamespaceVersion)]
    [InlineData(Kind.NamespaceScan)]
    [InlineData(Kind.All)]
    public async Task Invalidation_made_during_a_freeze_takes_effect_after_recovery(Kind kind)
    {
        using RedisServerProcess server = RedisServerProcess.Start();
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",abortConnect=false");
        using SmartCache cache = TestCache.Create(connection, TestCache.ProductionTimeouts);
        using var metrics = new MetricRecorder();
        string source = "v1";
        var options = new CacheEntryOptions { DependsOn = ["product:1"] };
        ValueTask<string> Load(CancellationToken _) => ValueTask.FromResult(Volatile.Read(ref source));
        Assert.Equal("v1", await cache.GetOrSetAsync(Target, Load, options));
        await cache.SetAsync(Bystander, "kept");

        server.Pause();
        await OpenCircuitAsync(cache);
        Volatile.Write(ref source, "v2");
        var unconfirmed = await Assert.ThrowsAsync<CacheStoreException>(() => InvalidateAsync(cache, kind));
        string duringOutage = await cache.GetOrSetAsync(Target, Load, options);
        server.Resume();

        // From the moment Redis answers again, no read may return what the invalidation removed.
        var seen = new List<string>();
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (metrics["cacheinvalidation.invalidations.journal/replayed"] == 0 || seen.Count < 50)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the journal was not replayed: {metrics["cacheinvalidation.invalidations.journal/replayed"]}");
            seen.Add(await cache.GetOrSetAsync(Target, Load, options));
            await Task.Delay(10);
        }

        await using ConnectionMultiplexer other = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        using SmartCache otherNode = TestCache.Create(other, o => o.KeyPrefix = cache.Layout.Prefix);
        Assert.True(unconfirmed.Journaled);
        Assert.Equal("v2", duringOutage);
        Assert.All(seen, value => Assert.Equal("v2", value));
        Assert.NotEqual("v1", (await otherNode.GetAsync<string>(Target)).Value);
        Assert.Equal(1, metrics["cacheinvalidation.invalidations.journal/journaled"]);
        Assert.Equal(1, metrics["cacheinvalidation.invalidations.journal/replayed"]);
    }

    [Fact]
    public async Task Overflowing_journal_voids_the_whole_tenant_instead()
    {
        using RedisServerProcess server = RedisServerProcess.Start();
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",abortConnect=false");
        using SmartCache cache = TestCache.Create(connection, o =>
        {
            TestCache.ProductionTimeouts(o);
            o.Resilience.JournalCapacity = 3;
        });
        using var metrics = new MetricRecorder();
        for (int i = 0; i < 10; i++)
        {
            await cache.SetAsync(CacheKey.Entity("item", i), "old");
        }

        server.Pause();
        await OpenCircuitAsync(cache);
        for (int i = 0; i < 5; i++)
        {
            await Assert.ThrowsAsync<CacheStoreException>(async () => await cache.InvalidateKeyAsync(CacheKey.Entity("item", i)));
        }

        server.Resume();
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (metrics["cacheinvalidation.invalidations.journal/replayed"] == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the journal was not replayed");
            await Task.Delay(20);
        }

        Assert.Equal(1, metrics["cacheinvalidation.invalidations.journal/collapsed"]);
        for (int i = 0; i < 10; i++)
        {
            Assert.False((await cache.GetAsync<string>(CacheKey.Entity("item", i))).Found); // items 5–9 were voided too
        }
    }

    [Fact]
    public async Task Invalidation_made_while_the_server_is_down_is_applied_after_an_empty_restart()
    {
        RedisServerProcess server = RedisServerProcess.Start();
        try
        {
            await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",abortConnect=false");
            using SmartCache cache = TestCache.Create(connection, TestCache.ProductionTimeouts);
            using var metrics = new MetricRecorder();
            await cache.SetAsync(Target, "v1");

            server.Dispose();
            await OpenCircuitAsync(cache);
            var unconfirmed = await Assert.ThrowsAsync<CacheStoreException>(async () => await cache.InvalidateKeyAsync(Target));
            server = server.RestartEmpty();

            DateTime deadline = DateTime.UtcNow.AddSeconds(30);
            while (metrics["cacheinvalidation.invalidations.journal/replayed"] == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the journal was not replayed");
                await Task.Delay(20);
            }

            // The cache works again: reads load v2 (never the invalidated v1) until one of them is cached.
            CacheResult<string> cached = default;
            deadline = DateTime.UtcNow.AddSeconds(30);
            while (!cached.Found)
            {
                Assert.True(DateTime.UtcNow < deadline, "the cache did not cache again after the restart");
                Assert.Equal("v2", await cache.GetOrSetAsync(Target, _ => ValueTask.FromResult("v2")));
                cached = await cache.GetAsync<string>(Target);
            }

            Assert.True(unconfirmed.Journaled);
            Assert.Equal("v2", cached.Value);
        }
        finally
        {
            server.Dispose();
        }
    }

    /// <summary>Reads while Redis does not answer, until the circuit opens: later calls fail at once instead of waiting.</summary>
    private static async Task OpenCircuitAsync(SmartCache cache)
    {
        for (int i = 0; i < 20; i++)
        {
            await cache.GetOrSetAsync(CacheKey.Entity("probe", i), _ => ValueTask.FromResult(i));
        }
    }

    private static async Task InvalidateAsync(SmartCache cache, Kind kind)
    {
        switch (kind)
        {
            case Kind.Key:
                await cache.InvalidateKeyAsync(Target);
                break;
            case Kind.Source:
                await cache.InvalidateSourceAsync("product:1");
                break;
            case Kind.NamespaceVersion:
                await cache.InvalidateNamespaceVersionAsync("docs");
                break;
            case Kind.NamespaceScan:
                await cache.InvalidateNamespaceAsync("docs");
                break;
            default:
                await cache.InvalidateAllAsync();
                break;
        }
    }
}
