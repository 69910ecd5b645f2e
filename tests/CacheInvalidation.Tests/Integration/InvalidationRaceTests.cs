using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Integration;

/// <summary>
/// The races that broke the no-stale-set promise for namespace scans, busy sources and direct sets, staged step by step
/// on two nodes (two connections).
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class InvalidationRaceTests(RedisFixture redis)
{
    private static CacheEntryOptions DependsOn(params string[] sources) => new() { DependsOn = sources };

    [Fact]
    public async Task Load_whose_write_lands_while_a_namespace_is_scanned_is_never_readable_after_the_scan()
    {
        await using ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        using SmartCache reader = TestCache.Create(redis, o => o.KeyPrefix = prefix);
        using SmartCache writer = TestCache.Create(redis, o => o.KeyPrefix = prefix, second);
        const int Filler = 300;
        int source = 0;
        var stale = new List<string>();

        for (int round = 0; round < 24; round++)
        {
            // A full namespace each round, so the scan is long enough for the load's write to land behind its cursor.
            await Task.WhenAll(Enumerable.Range(0, Filler).Select(i => writer.SetAsync(CacheKey.Entity("docs", i), i).AsTask()));
            CacheKey key = CacheKey.Create("docs:raced", $"r{round}");
            var loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Task<int> read = reader.GetOrSetAsync(key, async _ =>
            {
                int old = Volatile.Read(ref source);
                loaded.SetResult();
                await release.Task;
                return old;
            }).AsTask();
            await loaded.Task;
            int current = Interlocked.Increment(ref source);

            // The load's write lands halfway through the scan: its entry may land behind the SCAN cursor, its lease ahead.
            var progress = new SynchronousProgress(p =>
            {
                if (p.Scanned >= Filler / 2 && release.TrySetResult())
                {
                    read.GetAwaiter().GetResult();
                }
            });
            await writer.InvalidateNamespaceAsync("docs", new NamespaceInvalidationOptions { BatchSize = 10 }, progress);
            release.TrySetResult();
            await read;

            CacheResult<int> after = await reader.GetAsync<int>(key);
            if (after.Found && after.Value != current)
            {
                stale.Add($"round {round}: {after.Value} cached, source {current}");
            }
        }

        Assert.Empty(stale);
    }

    [Fact]
    public async Task Source_invalidation_removes_every_dependent_written_before_it_however_busy_the_source()
    {
        await using ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        using SmartCache cache = TestCache.Create(redis, o => o.KeyPrefix = prefix);
        using SmartCache busy = TestCache.Create(redis, o => o.KeyPrefix = prefix, second);
        const int Before = 2_000;

        // Another node keeps registering new dependents of the same source the whole time, many at once.
        (long removed, int stillReadable, _) = await BusySourceDrill.RunAsync(cache, busy, Before, workers: 8, startAfter: 1_000);
        Assert.Equal(0, stillReadable);
        Assert.True(removed >= Before, $"removed {removed}");
    }

    [Fact]
    public async Task Direct_set_whose_source_is_invalidated_before_its_write_is_refused()
    {
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        var hooks = new StoreHooks();
        var registered = new TaskCompletionSource();
        TaskCompletionSource writeGate = hooks.Hold("Write", registered);
        await using ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        using SmartCache setter = TestCache.Create(redis.Admin, hooks, o => o.KeyPrefix = prefix);
        using SmartCache invalidator = TestCache.Create(redis, o => o.KeyPrefix = prefix, second);
        CacheKey key = CacheKey.Entity("product-view", 1);
        using var metrics = new MetricRecorder();

        Task set = setter.SetAsync(key, "computed from product 1 before its change", DependsOn("product:1")).AsTask();
        await registered.Task; // registered in the index, its write not sent yet
        long removedDuring = await invalidator.InvalidateSourceAsync("product:1");
        writeGate.SetResult();
        await set;

        Assert.Equal(0, removedDuring);
        Assert.False((await invalidator.GetAsync<string>(key)).Found); // refused, not an entry its index no longer lists
        Assert.Equal(1, metrics["cacheinvalidation.writes/refused"]);
        Assert.DoesNotContain(await TestCache.KeysAsync(redis, setter), k => k.EndsWith("#l", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Direct_set_after_a_source_invalidation_is_indexed_for_the_next_one()
    {
        using SmartCache cache = TestCache.Create(redis);
        CacheKey key = CacheKey.Entity("product-view", 2);
        await cache.SetAsync(key, "old", DependsOn("product:2"));
        await cache.InvalidateSourceAsync("product:2");

        await cache.SetAsync(key, "new", DependsOn("product:2"));
        long removed = await cache.InvalidateSourceAsync("product:2");

        Assert.Equal(1, removed);
        Assert.False((await cache.GetAsync<string>(key)).Found);
    }

    [Fact]
    public async Task Interrupted_source_invalidation_is_finished_by_the_next_one()
    {
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        var hooks = new StoreHooks();
        var failing = true;
        hooks.Before = name => name == "DeleteEntries" && Volatile.Read(ref failing)
            ? Task.FromException(new CacheInvalidation.Client.CacheStoreException("connection lost mid-drain"))
            : Task.CompletedTask;
        using SmartCache crashing = TestCache.Create(redis.Admin, hooks, o => o.KeyPrefix = prefix);
        using SmartCache cache = TestCache.Create(redis, o => o.KeyPrefix = prefix);
        for (int i = 0; i < 600; i++)
        {
            await cache.SetAsync(CacheKey.Entity("row", i), i, DependsOn("table:t"));
        }

        await Assert.ThrowsAsync<CacheInvalidation.Client.CacheStoreException>(async () => await crashing.InvalidateSourceAsync("table:t"));
        await cache.SetAsync(CacheKey.Entity("row", 1000), 1000, DependsOn("table:t")); // registered after the snapshot
        Volatile.Write(ref failing, false);
        long removed = await cache.InvalidateSourceAsync("table:t");

        Assert.Equal(601, removed); // the interrupted snapshot and the new index
        Assert.Empty(await TestCache.EntryKeysAsync(redis, cache));
        Assert.DoesNotContain(await TestCache.KeysAsync(redis, cache), k => k.Contains("#src:", StringComparison.Ordinal));
    }
}

/// <summary>Reports progress on the scanning thread, so a test can act at an exact point of a scan.</summary>
internal sealed class SynchronousProgress(Action<NamespaceInvalidationProgress> onReport) : IProgress<NamespaceInvalidationProgress>
{
    public int Reports { get; private set; }

    public void Report(NamespaceInvalidationProgress value)
    {
        Reports++;
        onReport(value);
    }
}
