using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Orphans;

[Collection(RedisCollection.Name)]
public sealed class OrphanCleanupTests(RedisFixture redis)
{
    [Fact]
    public async Task Count_is_exact_when_the_sample_covers_every_entry_and_reports_ages()
    {
        using SmartCache cache = TestCache.Create(redis, OrphanSeed.Options);
        OrphanSeed seed = await OrphanSeed.CreateAsync(cache);
        SmartCacheAdministration admin = OrphanSeed.Admin(redis.Admin, cache);

        OrphanReport report = await admin.CountOrphansAsync(sampleSize: 1_000);

        Assert.Equal(65, report.Entries);
        Assert.Equal(65, report.Sampled);
        Assert.Equal(40, report.OrphansFound);
        Assert.Equal(40, report.EstimatedOrphans);
        Assert.Equal(0, report.Removed);
        Assert.InRange(report.MaxRemainingLifetime, OrphanSeed.Ttl - TimeSpan.FromMinutes(5), OrphanSeed.Ttl);
        Assert.InRange(report.MedianRemainingLifetime, OrphanSeed.Ttl - TimeSpan.FromMinutes(5), report.MaxRemainingLifetime);
        Assert.Equal(["", "docs"], report.Namespaces.Select(n => n.Namespace).Order(StringComparer.Ordinal));
        Assert.All(report.Namespaces, n => Assert.Equal(20, n.OrphansFound));
        Assert.Equal(30, report.Namespaces.Single(n => n.Namespace == "docs").Sampled);

        // Counting removes nothing.
        foreach (CacheKey key in seed.Orphans)
        {
            Assert.True(await redis.Admin.GetDatabase().KeyExistsAsync(OrphanSeed.KeyOf(cache, key)));
        }
    }

    [Fact]
    public async Task Count_from_a_smaller_sample_checks_only_the_sample_and_scales_up()
    {
        using SmartCache cache = TestCache.Create(redis, OrphanSeed.Options);
        await OrphanSeed.CreateAsync(cache);
        SmartCacheAdministration admin = OrphanSeed.Admin(redis.Admin, cache);

        OrphanReport report = await admin.CountOrphansAsync(sampleSize: 13);

        Assert.Equal(65, report.Entries);
        Assert.Equal(13, report.Sampled);
        Assert.InRange(report.OrphansFound, 0, 13);
        Assert.Equal((long)Math.Round(report.OrphansFound * 65 / 13.0), report.EstimatedOrphans);
    }

    [Fact]
    public async Task Removal_removes_only_old_version_entries_and_keeps_every_other_key()
    {
        using SmartCache cache = TestCache.Create(redis, OrphanSeed.Options);
        OrphanSeed seed = await OrphanSeed.CreateAsync(cache);
        SmartCacheAdministration admin = OrphanSeed.Admin(redis.Admin, cache);

        // A load in flight holds a lease; it must still be able to write after the cleanup.
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        CacheKey loading = CacheKey.Entity("docs", 999);
        ValueTask<int> load = cache.GetOrSetAsync(loading, async _ => await gate.Task, OrphanSeed.Entry(1));
        string lease = OrphanSeed.KeyOf(cache, loading) + "#l";
        IDatabase db = redis.Admin.GetDatabase();
        await Eventually.HoldsAsync(() => db.KeyExistsAsync(lease), "the load did not take its lease");

        HashSet<string> before = [.. await TestCache.KeysAsync(redis, cache)];
        HashSet<string> orphans = [.. seed.Orphans.Select(k => OrphanSeed.KeyOf(cache, k))];
        Assert.Subset(before, orphans);
        Assert.Contains(before, k => k.EndsWith("#v", StringComparison.Ordinal)); // versions,
        Assert.Contains(before, k => k.EndsWith("#seq", StringComparison.Ordinal)); // sequences,
        Assert.Contains(before, k => k.EndsWith("#d", StringComparison.Ordinal)); // dependency indexes,
        Assert.Contains(lease, before); // and a lease are there to be kept

        OrphanReport report = await admin.RemoveOrphansAsync("ops@example", "test", OrphanSeed.Unpaced());

        HashSet<string> after = [.. await TestCache.KeysAsync(redis, cache)];
        Assert.Equal(40, report.Removed);
        Assert.Equal(40, report.OrphansFound);
        Assert.Equal(0, report.EstimatedOrphans); // none left
        Assert.Equal(before.Except(orphans).Order(StringComparer.Ordinal), after.Order(StringComparer.Ordinal));

        foreach (CacheKey key in seed.Current)
        {
            Assert.True((await cache.GetAsync<int>(key)).Found, $"{key} is current and must still be readable");
        }

        gate.SetResult(7);
        Assert.Equal(7, await load);
        Assert.Equal(7, (await cache.GetAsync<int>(loading)).Value); // the lease still held: the load's write was accepted

        StreamEntry[] audit = await db.StreamRangeAsync($"{{{cache.Layout.Prefix}}}:audit");
        Assert.Equal(["started", "completed"], audit.Select(e => (string)e["phase"]!));
        Assert.Equal("40", audit[1]["keys"]);
        Assert.Equal("ops@example", audit[1]["actor"]);
        Assert.Equal("orphans:" + cache.Layout.Tenant, audit[1]["scope"]);
        Assert.Equal(0, (await admin.CountOrphansAsync()).OrphansFound);
    }

    [Fact]
    public async Task Removal_with_a_lifetime_threshold_removes_only_orphans_living_longer()
    {
        using SmartCache cache = TestCache.Create(redis, OrphanSeed.Options);
        for (int i = 0; i < 10; i++)
        {
            await cache.SetAsync(CacheKey.Entity("short", i), i, OrphanSeed.Entry(i, TimeSpan.FromMinutes(10)));
            await cache.SetAsync(CacheKey.Entity("long", i), i, OrphanSeed.Entry(i, TimeSpan.FromHours(5)));
        }

        await cache.InvalidateAllAsync();
        SmartCacheAdministration admin = OrphanSeed.Admin(redis.Admin, cache);
        var options = new OrphanCleanupOptions { MaxOrphanLifetime = TimeSpan.FromHours(1), KeysPerSecond = null };
        OrphanReport count = await admin.CountOrphansAsync();
        Assert.True(options.CallsForCleanup(count));
        Assert.InRange(count.MaxRemainingLifetime, TimeSpan.FromHours(4), TimeSpan.FromHours(5));

        OrphanReport report = await admin.RemoveOrphansAsync("ops", "test", options);

        Assert.Equal(20, report.OrphansFound);
        Assert.Equal(10, report.Removed);
        Assert.Equal(10, report.EstimatedOrphans); // left to expire on their own
        IDatabase db = redis.Admin.GetDatabase();
        for (int i = 0; i < 10; i++)
        {
            Assert.True(await db.KeyExistsAsync(OrphanSeed.KeyOf(cache, CacheKey.Entity("short", i))));
            Assert.False(await db.KeyExistsAsync(OrphanSeed.KeyOf(cache, CacheKey.Entity("long", i))));
        }

        OrphanReport left = await admin.CountOrphansAsync();
        Assert.Equal(10, left.OrphansFound);
        Assert.True(left.MaxRemainingLifetime <= TimeSpan.FromMinutes(10));
        Assert.False(options.CallsForCleanup(left)); // none outlives the threshold: the job would not clean
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(1_000_001)]
    public async Task Count_refuses_a_bad_sample_size_naming_it(int sampleSize)
    {
        using SmartCache cache = TestCache.Create(redis, OrphanSeed.Options);
        SmartCacheAdministration admin = OrphanSeed.Admin(redis.Admin, cache);

        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await admin.CountOrphansAsync(sampleSize));

        Assert.Equal("sampleSize", ex.ParamName);
    }

    [Theory]
    [InlineData("", "why", "actor")]
    [InlineData(" ", "why", "actor")]
    [InlineData("ops", "", "reason")]
    public async Task Removal_refuses_what_it_cannot_audit_naming_the_argument(string actor, string reason, string parameter)
    {
        using SmartCache cache = TestCache.Create(redis, OrphanSeed.Options);
        SmartCacheAdministration admin = OrphanSeed.Admin(redis.Admin, cache);

        var ex = await Assert.ThrowsAnyAsync<ArgumentException>(async () => await admin.RemoveOrphansAsync(actor, reason));

        Assert.Equal(parameter, ex.ParamName);
        Assert.False(await redis.Admin.GetDatabase().KeyExistsAsync($"{{{cache.Layout.Prefix}}}:audit"));
    }

    [Theory]
    [InlineData("BatchSize")]
    [InlineData("KeysPerSecond")]
    [InlineData("MaxOrphanLifetime")]
    [InlineData("MaxOrphans")]
    public async Task Removal_refuses_bad_options_naming_the_option(string option)
    {
        using SmartCache cache = TestCache.Create(redis, OrphanSeed.Options);
        await cache.SetAsync(CacheKey.Create("k"), 1);
        await cache.InvalidateAllAsync();
        SmartCacheAdministration admin = OrphanSeed.Admin(redis.Admin, cache);
        var options = new OrphanCleanupOptions();
        switch (option)
        {
            case "BatchSize": options.BatchSize = 0; break;
            case "KeysPerSecond": options.KeysPerSecond = 0; break;
            case "MaxOrphanLifetime": options.MaxOrphanLifetime = TimeSpan.FromSeconds(-1); break;
            default: options.MaxOrphans = -1; break;
        }

        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await admin.RemoveOrphansAsync("ops", "test", options));

        Assert.Equal("options", ex.ParamName);
        Assert.Contains("options." + option, ex.Message, StringComparison.Ordinal);
        Assert.False(await redis.Admin.GetDatabase().KeyExistsAsync($"{{{cache.Layout.Prefix}}}:audit"));
        Assert.True(await redis.Admin.GetDatabase().KeyExistsAsync(OrphanSeed.KeyOf(cache, CacheKey.Create("k")))); // nothing removed
    }
}
