using CacheInvalidation.Client;
using CacheInvalidation.Keys;
using CacheInvalidation.Policy;
using CacheInvalidation.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace CacheInvalidation.Tests.Integration;

/// <summary>Freshness is judged on the cache's clock, so these tests move a fake clock instead of sleeping.</summary>
[Collection(RedisCollection.Name)]
public sealed class StaleWhileRevalidateTests(RedisFixture redis)
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);

    // Important entries take the TTL of the Important policy set below (entries naming no class take DefaultTtl).
    private static readonly CacheEntryOptions Important = new() { DataClass = DataClass.Important };

    private SmartCache Create(TimeSpan staleBudget, double earlyRefreshBeta = 0)
    {
        var options = new SmartCacheOptions
        {
            KeyPrefix = "t" + Guid.NewGuid().ToString("N")[..12],
            EarlyRefreshBeta = earlyRefreshBeta,
        };
        options.Policies[DataClass.Important] = CachePolicy.Ttl(TimeSpan.FromMinutes(1), TimeSpan.Zero).WithStaleBudget(staleBudget);
        TestCache.Patient(options);
        return new SmartCache(options, TestCache.Connection(redis.Admin, options), ownsConnection: false, null, _clock);
    }

    [Fact]
    public async Task Stale_entry_is_served_inside_the_budget_while_one_caller_refreshes_it()
    {
        using SmartCache cache = Create(staleBudget: TimeSpan.FromMinutes(1));
        using var metrics = new MetricRecorder();
        CacheKey key = CacheKey.Create("k");
        int calls = 0;
        await cache.GetOrSetAsync(key, _ => { calls++; return ValueTask.FromResult("v1"); }, Important);
        _clock.Advance(TimeSpan.FromSeconds(70)); // past the TTL, inside the budget
        var refresh = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);

        string[] served = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ =>
            cache.GetOrSetAsync(key, _ => { Interlocked.Increment(ref calls); return new ValueTask<string>(refresh.Task); }, Important).AsTask()));
        refresh.SetResult("v2");

        Assert.All(served, v => Assert.Equal("v1", v)); // nobody waited for the refresh
        await Eventually.HoldsAsync(async () => (await cache.GetAsync<string>(key)).Value == "v2");
        Assert.Equal(2, calls); // one background refresh for all of them
        Assert.True(metrics["cacheinvalidation.requests/stale"] >= 1);
    }

    [Fact]
    public async Task Entry_past_its_budget_is_never_served()
    {
        using SmartCache cache = Create(staleBudget: TimeSpan.FromSeconds(10));
        CacheKey key = CacheKey.Create("k");
        await cache.GetOrSetAsync(key, _ => ValueTask.FromResult("old"), Important);
        _clock.Advance(TimeSpan.FromSeconds(75)); // TTL 60 s + budget 10 s exceeded on the cache's clock

        string value = await cache.GetOrSetAsync(key, _ => ValueTask.FromResult("new"), Important);

        Assert.Equal("new", value);
    }

    [Fact]
    public async Task Without_a_budget_an_expired_entry_is_a_miss()
    {
        using SmartCache cache = Create(staleBudget: TimeSpan.Zero);
        CacheKey key = CacheKey.Create("k");
        await cache.GetOrSetAsync(key, _ => ValueTask.FromResult("old"), Important);
        _clock.Advance(TimeSpan.FromSeconds(61));

        string value = await cache.GetOrSetAsync(key, _ => ValueTask.FromResult("new"), Important);

        Assert.Equal("new", value);
    }

    [Fact]
    public async Task Early_refresh_renews_a_hot_entry_before_it_expires()
    {
        using SmartCache cache = Create(staleBudget: TimeSpan.Zero, earlyRefreshBeta: 10);
        CacheKey key = CacheKey.Create("k");
        int calls = 0;
        ValueTask<int> Load(CancellationToken _)
        {
            _clock.Advance(TimeSpan.FromMilliseconds(100)); // the value takes 100 ms to compute
            return ValueTask.FromResult(Interlocked.Increment(ref calls));
        }

        await cache.GetOrSetAsync(key, Load, Important);
        _clock.Advance(TimeSpan.FromSeconds(59.8)); // 100 ms before expiry
        for (int i = 0; i < 20 && Volatile.Read(ref calls) == 1; i++)
        {
            Assert.Equal(1, await cache.GetOrSetAsync(key, Load, Important)); // hits keep returning the current value
        }

        await Eventually.HoldsAsync(async () => (await cache.GetAsync<int>(key)).Value == 2);
    }

    [Fact]
    public async Task Without_early_refresh_hits_before_expiry_never_call_the_factory()
    {
        using SmartCache cache = Create(staleBudget: TimeSpan.Zero, earlyRefreshBeta: 0);
        CacheKey key = CacheKey.Create("k");
        int calls = 0;
        ValueTask<int> Load(CancellationToken _)
        {
            _clock.Advance(TimeSpan.FromMilliseconds(100));
            return ValueTask.FromResult(Interlocked.Increment(ref calls));
        }

        await cache.GetOrSetAsync(key, Load, Important);
        _clock.Advance(TimeSpan.FromSeconds(59.8));
        for (int i = 0; i < 50; i++)
        {
            await cache.GetOrSetAsync(key, Load, Important);
        }

        Assert.Equal(1, calls);
    }

}
