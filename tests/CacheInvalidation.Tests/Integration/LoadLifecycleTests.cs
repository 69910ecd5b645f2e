using CacheInvalidation.Keys;
using CacheInvalidation.Strategies;
using CacheInvalidation.Tests.Infrastructure;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Integration;

/// <summary>A load from the lease to the write: slow factories, callers that join or leave it, and the limits of its scripts.</summary>
[Collection(RedisCollection.Name)]
public sealed class LoadLifecycleTests(RedisFixture redis)
{
    [Fact]
    public async Task Factory_slower_than_the_lease_time_is_still_cached()
    {
        // In a fresh test process the first calls pay for JIT and a cold thread pool: a first lease extension, due after
        // 250 ms, was seen to take 900 ms. This test is about a slow factory, so the read path is warmed first and the
        // lease is 3 s (extended every second: an extension may run 2 s late on a loaded machine).
        using SmartCache cache = TestCache.Create(redis, o => o.LeaseTime = TimeSpan.FromSeconds(3));
        for (int i = 0; i < 3; i++)
        {
            await cache.GetAsync<string>(CacheKey.Create("warm"));
        }
        using var metrics = new MetricRecorder();
        CacheKey key = CacheKey.Create("slow");

        string value = await cache.GetOrSetAsync(key, async ct =>
        {
            await Task.Delay(TimeSpan.FromSeconds(10), ct); // more than three lease times
            return "slow but fine";
        });

        Assert.Equal("slow but fine", value);
        Assert.Equal("slow but fine", (await cache.GetAsync<string>(key)).Value);
        Assert.Equal(1, metrics["cacheinvalidation.writes/written"]);
        Assert.Equal(0, metrics["cacheinvalidation.writes/refused"]);
    }

    [Fact]
    public async Task Slow_factory_is_still_refused_when_invalidated_while_its_lease_is_kept()
    {
        using SmartCache cache = TestCache.Create(redis, o => o.LeaseTime = TimeSpan.FromMilliseconds(300));
        using var metrics = new MetricRecorder();
        CacheKey key = CacheKey.Create("slow");

        await cache.GetOrSetAsync(key, async ct =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
            await cache.InvalidateKeyAsync(key, ct);
            await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
            return "computed before the change";
        });

        Assert.False((await cache.GetAsync<string>(key)).Found);
        Assert.Equal(1, metrics["cacheinvalidation.writes/refused"]);
    }

    [Fact]
    public async Task Caller_that_joins_before_the_factory_runs_adds_its_dependencies()
    {
        var hooks = new StoreHooks();
        var leasing = new TaskCompletionSource();
        TaskCompletionSource leaseGate = hooks.Hold("Lease", leasing);
        using SmartCache cache = TestCache.Create(redis.Admin, hooks);
        CacheKey key = CacheKey.Entity("product-view", 1);
        int calls = 0;
        ValueTask<string> Load(CancellationToken _)
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult("view");
        }

        Task<string> first = cache.GetOrSetAsync(key, Load, new CacheEntryOptions { DependsOn = ["product:1"] }).AsTask();
        await leasing.Task; // the flight is taking the lease; its factory has not run
        Task<string> joined = cache.GetOrSetAsync(key, Load, new CacheEntryOptions { DependsOn = ["seller:7"] }).AsTask();
        leaseGate.SetResult();
        await Task.WhenAll(first, joined);
        hooks.Before = static _ => Task.CompletedTask;

        Assert.Equal(1, calls);
        Assert.Equal(1, await cache.InvalidateSourceAsync("seller:7")); // the joiner's source reaches the shared value
    }

    [Fact]
    public async Task Caller_that_joins_with_a_new_dependency_after_the_factory_started_gets_the_value_uncached()
    {
        using SmartCache cache = TestCache.Create(redis);
        using var metrics = new MetricRecorder();
        CacheKey key = CacheKey.Entity("product-view", 2);
        var computing = new TaskCompletionSource();
        var finish = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);

        Task<string> first = cache.GetOrSetAsync(key, _ => { computing.SetResult(); return new ValueTask<string>(finish.Task); }, new CacheEntryOptions { DependsOn = ["product:2"] }).AsTask();
        await computing.Task;
        Task<string> late = cache.GetOrSetAsync(key, _ => ValueTask.FromResult("unused"), new CacheEntryOptions { DependsOn = ["seller:8"] }).AsTask();
        Task<string> same = cache.GetOrSetAsync(key, _ => ValueTask.FromResult("unused"), new CacheEntryOptions { DependsOn = ["product:2"] }).AsTask();
        finish.SetResult("view");

        Assert.Equal(["view", "view", "view"], await Task.WhenAll(first, late, same));
        Assert.False((await cache.GetAsync<string>(key)).Found); // its seller:8 dependency could not be tracked
        Assert.Equal(1, metrics["cacheinvalidation.writes/skipped"]);
    }

    [Fact]
    public async Task Factory_is_cancelled_when_every_caller_has_left_and_its_lease_is_freed()
    {
        using SmartCache cache = TestCache.Create(redis);
        CacheKey key = CacheKey.Create("abandoned");
        var started = new TaskCompletionSource();
        var cancelled = new TaskCompletionSource();
        async ValueTask<string> Endless(CancellationToken ct)
        {
            started.TrySetResult();
            using CancellationTokenRegistration _ = ct.Register(() => cancelled.TrySetResult());
            await Task.Delay(Timeout.Infinite, ct);
            return "never";
        }

        using var first = new CancellationTokenSource();
        using var second = new CancellationTokenSource();
        Task<string> a = cache.GetOrSetAsync(key, Endless, cancellationToken: first.Token).AsTask();
        await started.Task;
        Task<string> b = cache.GetOrSetAsync(key, Endless, cancellationToken: second.Token).AsTask();

        await first.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a);
        Assert.False(cancelled.Task.IsCompleted); // one caller still waits
        await second.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => b);
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));

        // The lease was given back: the next caller loads at once instead of waiting for it to expire.
        string next = await cache.GetOrSetAsync(key, _ => ValueTask.FromResult("fresh")).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("fresh", next);
    }

    [Fact]
    public async Task Factory_of_a_caller_without_a_token_is_never_cancelled_by_others_leaving()
    {
        using SmartCache cache = TestCache.Create(redis);
        CacheKey key = CacheKey.Create("kept");
        var started = new TaskCompletionSource();
        var finish = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        CancellationToken seen = default;

        Task<string> patient = cache.GetOrSetAsync(key, ct => { seen = ct; started.SetResult(); return new ValueTask<string>(finish.Task); }).AsTask();
        await started.Task;
        using var impatient = new CancellationTokenSource();
        Task<string> leaving = cache.GetOrSetAsync(key, _ => ValueTask.FromResult("unused"), cancellationToken: impatient.Token).AsTask();
        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaving);
        finish.SetResult("done");

        Assert.Equal("done", await patient);
        Assert.False(seen.IsCancellationRequested);
        Assert.Equal("done", (await cache.GetAsync<string>(key)).Value);
    }

    [Fact]
    public async Task Namespace_scan_of_ten_thousand_keys_in_one_slot_unlinks_them_in_one_batch()
    {
        using SmartCache cache = TestCache.Create(redis, o => o.VersionShards = 1); // every entry in one hash slot
        const int Count = 9_000;
        foreach (int[] chunk in Enumerable.Range(0, Count).Chunk(1_000))
        {
            await Task.WhenAll(chunk.Select(i => cache.SetAsync(CacheKey.Entity("bulk", i), i).AsTask()));
        }

        NamespaceInvalidationReport report = await cache.InvalidateNamespaceAsync("bulk", new NamespaceInvalidationOptions { BatchSize = 10_000 });

        Assert.Equal(Count, report.Deleted);
        Assert.Empty(await TestCache.EntryKeysAsync(redis, cache));
    }

    [Fact]
    public async Task Background_pruning_goes_on_where_it_stopped_until_every_dead_member_is_gone()
    {
        using SmartCache cache = TestCache.Create(redis, TestCache.WithoutStaleBudget);
        const int Live = 3_000, Dead = 3_000;
        var options = new CacheEntryOptions { Ttl = TimeSpan.FromMinutes(10), DependsOn = ["feed:big"] };
        foreach (int[] chunk in Enumerable.Range(0, Live + Dead).Chunk(1_000))
        {
            await Task.WhenAll(chunk.Select(i => cache.SetAsync(CacheKey.Entity("item", i), i, options).AsTask()));
        }

        // Half the entries leave Redis behind the library's back (as an eviction or expiry would) only after the last
        // write, so the pruning every 32nd registration starts in the background finds them alive, however slow the writes.
        IDatabase db = redis.Admin.GetDatabase();
        await Task.WhenAll(Enumerable.Range(0, Live + Dead).Where(i => i % 2 == 1)
            .Select(i => db.KeyDeleteAsync(cache.Layout.Address(CacheKey.Entity("item", i)).EntryKey)));
        Assert.Equal(Live, (await TestCache.EntryKeysAsync(redis, cache)).Count);

        // Each background step reads one page; steps resume at the cursor the last one left.
        var pruning = new DependencySetStrategy(new CacheInvalidation.Client.RedisSourceIndexStore(CacheInvalidation.Client.RedisConnection.FromExisting(redis.Admin), new CacheInvalidation.Client.StoreResilience(new CacheResilienceOptions()).Operations), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        string index = cache.Layout.Source("feed:big").Index;
        long pruned = 0;
        int steps = 0;
        for (bool done = false; !done; steps++)
        {
            (long step, done) = await pruning.PruneStepAsync(index, CancellationToken.None);
            pruned += step;
        }

        // A background step still running when the entries were removed may have pruned a page or two of them first.
        Assert.InRange(pruned, Dead - 500, Dead);
        Assert.Equal(Live, await redis.Admin.GetDatabase().HashLengthAsync(index));
        Assert.InRange(steps, (Live + Dead) / 200, (Live + Dead) / 50);
    }
}
