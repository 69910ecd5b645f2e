using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Integration;

/// <summary>One factory call per key at a time: in a process by coalescing, across processes by the Redis lease.</summary>
[Collection(RedisCollection.Name)]
public sealed class StampedeTests(RedisFixture redis)
{
    [Fact]
    public async Task Thousand_callers_on_two_nodes_share_one_factory_call()
    {
        await using ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        // The 1,000 queued callers keep the thread pool busy ahead of the Redis reply; the test caches' patient soft
        // timeouts (TestCache.Patient) keep a cold first read from taking the documented uncached fallback instead.
        void Configure(SmartCacheOptions o) => o.KeyPrefix = prefix;

        using SmartCache nodeA = TestCache.Create(redis, Configure);
        using SmartCache nodeB = TestCache.Create(redis, Configure, second);
        using var metrics = new MetricRecorder();
        int calls = 0;
        async ValueTask<string> Load(CancellationToken ct)
        {
            Interlocked.Increment(ref calls);
            await Task.Delay(50, ct);
            return "computed once";
        }

        using var start = new ManualResetEventSlim();
        Task<string>[] callers = Enumerable.Range(0, 1000).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await (i % 2 == 0 ? nodeA : nodeB).GetOrSetAsync(CacheKey.Create("cold"), Load);
        })).ToArray();
        start.Set();
        string[] values = await Task.WhenAll(callers);

        Assert.True(calls == 1, $"{calls} calls; {metrics}");
        Assert.All(values, v => Assert.Equal("computed once", v));
    }

    [Fact]
    public async Task Coalesced_callers_share_a_factory_exception_and_the_next_call_retries()
    {
        using SmartCache cache = TestCache.Create(redis);
        int calls = 0;
        var release = new TaskCompletionSource();
        async ValueTask<int> Failing(CancellationToken _)
        {
            Interlocked.Increment(ref calls);
            await release.Task;
            throw new InvalidOperationException("source failed");
        }

        Task<int>[] callers = Enumerable.Range(0, 20).Select(_ => cache.GetOrSetAsync(CacheKey.Create("k"), Failing).AsTask()).ToArray();
        await Eventually.HoldsAsync(() => Volatile.Read(ref calls) == 1);
        release.SetResult();

        foreach (Task<int> caller in callers)
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => caller);
        }

        int retried = await cache.GetOrSetAsync(CacheKey.Create("k"), _ => { Interlocked.Increment(ref calls); return ValueTask.FromResult(7); });
        Assert.Equal(7, retried);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task One_caller_cancelling_does_not_cancel_the_others()
    {
        using SmartCache cache = TestCache.Create(redis);
        var release = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        using var impatient = new CancellationTokenSource();

        Task<int> cancelled = cache.GetOrSetAsync(CacheKey.Create("k"), _ => { Interlocked.Increment(ref calls); return new ValueTask<int>(release.Task); }, cancellationToken: impatient.Token).AsTask();
        await Eventually.HoldsAsync(() => Volatile.Read(ref calls) == 1);
        Task<int> patient = cache.GetOrSetAsync(CacheKey.Create("k"), _ => { Interlocked.Increment(ref calls); return ValueTask.FromResult(-1); }).AsTask();
        await impatient.CancelAsync();
        release.SetResult(42);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(42, await patient);
        Assert.Equal(1, calls);
        Assert.Equal(42, (await cache.GetAsync<int>(CacheKey.Create("k"))).Value); // the flight still cached its value
    }

    [Fact]
    public async Task Lease_owner_that_throws_does_not_leave_the_other_node_hanging()
    {
        await using ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        using SmartCache owner = TestCache.Create(redis, o => o.KeyPrefix = prefix);
        using SmartCache waiter = TestCache.Create(redis, o => { o.KeyPrefix = prefix; o.LeaseTime = TimeSpan.FromSeconds(30); }, second);
        var ownerStarted = new TaskCompletionSource();
        var ownerMayFail = new TaskCompletionSource();

        Task<int> failing = owner.GetOrSetAsync<int>(CacheKey.Create("k"), async _ =>
        {
            ownerStarted.SetResult();
            await ownerMayFail.Task;
            throw new InvalidOperationException("owner failed");
        }).AsTask();
        await ownerStarted.Task;
        int waiterCalls = 0;
        Task<int> waiting = waiter.GetOrSetAsync(CacheKey.Create("k"), _ => { Interlocked.Increment(ref waiterCalls); return ValueTask.FromResult(5); }).AsTask();
        await Task.Delay(100);
        Assert.False(waiting.IsCompleted); // it waits for the owner's value…
        ownerMayFail.SetResult();

        await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
        Assert.Equal(5, await waiting.WaitAsync(TimeSpan.FromSeconds(20))); // …and takes over at once when the owner gives up its lease
        Assert.Equal(1, waiterCalls);
    }

    [Fact]
    public async Task Lease_of_a_stopped_owner_delays_others_only_until_it_expires()
    {
        await using ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        // A stopped process no longer extends its lease: its store hangs on every extension.
        var frozen = new StoreHooks();
        frozen.Hold("Extend", new TaskCompletionSource());
        using SmartCache stopped = TestCache.Create(redis.Admin, frozen, o => { o.KeyPrefix = prefix; o.LeaseTime = TimeSpan.FromMilliseconds(500); });
        // The survivor's own lease is long: it must take the expired one in far less than its own wait (30 s), and its write
        // must not depend on a loaded machine finishing it within 500 ms.
        using SmartCache survivor = TestCache.Create(redis, o => { o.KeyPrefix = prefix; o.LeaseTime = TimeSpan.FromSeconds(30); }, second);
        using var metrics = new MetricRecorder();
        var ownerStarted = new TaskCompletionSource();
        var ownerResumes = new TaskCompletionSource<string>();

        // The owner takes the lease and never finishes in time, as if its process had stopped mid-factory.
        Task<string> hung = stopped.GetOrSetAsync(CacheKey.Create("k"), _ => { ownerStarted.SetResult(); return new ValueTask<string>(ownerResumes.Task); }).AsTask();
        await ownerStarted.Task;
        string value = await survivor.GetOrSetAsync(CacheKey.Create("k"), _ => ValueTask.FromResult("survivor")).AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        ownerResumes.SetResult("late owner");
        await hung;

        Assert.Equal("survivor", value);
        Assert.Equal("survivor", (await survivor.GetAsync<string>(CacheKey.Create("k"))).Value); // the late owner's write was refused
        Assert.Equal(1, metrics["cacheinvalidation.writes/refused"]);
    }

}
