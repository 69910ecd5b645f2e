using CacheInvalidation.Client;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.KillSwitch;

/// <summary>
/// The kill switch stops scans and purges and keeps key-level invalidation working: engaged by configuration (a reload)
/// or by the administration (for every node). Scans are counted on the server (INFO commandstats).
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class KillSwitchTests(RedisFixture redis)
{
    private static readonly CacheKey[] Docs = [CacheKey.Create("docs", "index"), CacheKey.Create("docs:technical", "install")];

    [Fact]
    public async Task Configuration_reload_engages_the_switch_namespace_invalidation_sends_no_scan_but_still_invalidates()
    {
        string prefix = NewPrefix();
        IConfigurationRoot configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Orders:SuspendAggressiveInvalidation"] = "false" })
            .Build();
        var services = new ServiceCollection();
        services.AddSmartCache("orders", o => { TestCache.Patient(o); o.Configuration = redis.ConnectionString; o.KeyPrefix = prefix; });
        services.Configure<SmartCacheOptions>("orders", configuration.GetSection("Orders"));
        await using ServiceProvider provider = services.BuildServiceProvider();
        ISmartCache cache = provider.GetRequiredKeyedService<ISmartCache>("orders");
        ICacheInvalidator invalidator = provider.GetRequiredKeyedService<ICacheInvalidator>("orders");
        ISmartCacheAdministration admin = provider.GetRequiredKeyedService<ISmartCacheAdministration>("orders");
        await FillAsync(cache);

        configuration["Orders:SuspendAggressiveInvalidation"] = "true";
        configuration.Reload();
        await redis.ResetStatsAsync();
        NamespaceInvalidationReport diverted = await invalidator.InvalidateNamespaceAsync("docs");
        long scansWhileEngaged = await redis.CommandCallsAsync("scan");

        Assert.Equal(0, scansWhileEngaged); // no scan ran…
        Assert.True(diverted.ScanSuspended);
        Assert.Equal(0, diverted.Deleted);
        Assert.Equal(Docs.Length + 1, (await TestCache.EntryKeysAsync(redis, (SmartCache)cache)).Count); // nothing deleted: left to age out by TTL
        Assert.Equal(Docs.Length, await FactoryCallsAsync(cache)); // …and yet every entry of the namespace is invalidated
        AggressiveInvalidationStatus status = await admin.GetAggressiveInvalidationStatusAsync();
        Assert.True(status.Suspended);
        Assert.True(status.SuspendedByOptions);
        Assert.False(status.SuspendedByAdministration);

        configuration["Orders:SuspendAggressiveInvalidation"] = "false";
        configuration.Reload();
        await redis.ResetStatsAsync();
        NamespaceInvalidationReport scanned = await invalidator.InvalidateNamespaceAsync("docs");

        Assert.True(await redis.CommandCallsAsync("scan") > 0); // lifted: scans run again
        Assert.False(scanned.ScanSuspended);
        Assert.Equal(Docs.Length, scanned.Deleted);
    }

    [Fact]
    public async Task Suspended_by_the_administration_on_node_a_node_b_diverts_too_until_resumed()
    {
        string prefix = NewPrefix();
        await using ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        using SmartCache nodeA = TestCache.Create(redis, o => o.KeyPrefix = prefix);
        using SmartCache nodeB = TestCache.Create(redis, o => o.KeyPrefix = prefix, second);
        SmartCacheAdministration adminA = Admin(prefix, redis.Admin);
        SmartCacheAdministration adminB = Admin(prefix, second);
        await FillAsync(nodeA);

        AggressiveInvalidationStatus engaged = await adminA.SuspendAggressiveInvalidationAsync("ops@example", "incident 42: Redis CPU at 100%");
        await redis.ResetStatsAsync();
        NamespaceInvalidationReport diverted = await nodeB.InvalidateNamespaceAsync("docs");
        long scansWhileEngaged = await redis.CommandCallsAsync("scan");

        Assert.True(engaged.SuspendedByAdministration);
        Assert.Equal(0, scansWhileEngaged);
        Assert.True(diverted.ScanSuspended);
        Assert.Equal(Docs.Length, await FactoryCallsAsync(nodeA)); // node B's bump voided what node A cached
        AggressiveInvalidationStatus seenByB = await adminB.GetAggressiveInvalidationStatusAsync();
        Assert.True(seenByB.SuspendedByAdministration);
        Assert.False(seenByB.SuspendedByOptions);
        Assert.Equal("ops@example", seenByB.Actor);
        Assert.Equal("incident 42: Redis CPU at 100%", seenByB.Reason);

        AggressiveInvalidationStatus lifted = await adminA.ResumeAggressiveInvalidationAsync("ops@example", "incident 42 resolved");
        await redis.ResetStatsAsync();
        NamespaceInvalidationReport scanned = await nodeB.InvalidateNamespaceAsync("docs");

        Assert.False(lifted.Suspended);
        Assert.True(await redis.CommandCallsAsync("scan") > 0);
        Assert.False(scanned.ScanSuspended);
        Assert.Equal(Docs.Length, scanned.Deleted); // the entries the diverted call left behind (re-written since) are reclaimed
    }

    [Fact]
    public async Task Purges_are_refused_while_engaged_and_the_refusal_is_audited()
    {
        string prefix = NewPrefix();
        using SmartCache cache = TestCache.Create(redis, o => o.KeyPrefix = prefix);
        SmartCacheAdministration admin = Admin(prefix, redis.Admin);
        await cache.SetAsync(CacheKey.Create("k"), 1);
        await admin.SuspendAggressiveInvalidationAsync("ops@example", "incident 42");

        var tenant = await Assert.ThrowsAsync<AggressiveInvalidationSuspendedException>(async () => await admin.PurgeTenantAsync("default", "batch@example", "nightly cleanup"));
        var all = await Assert.ThrowsAsync<AggressiveInvalidationSuspendedException>(async () => await admin.PurgeAllTenantsAsync("batch@example", "schema change"));

        Assert.Contains("kill switch", tenant.Message, StringComparison.Ordinal);
        Assert.Contains("ResumeAggressiveInvalidationAsync", tenant.Message, StringComparison.Ordinal);
        Assert.Contains("all-tenants", all.Message, StringComparison.Ordinal);
        Assert.Equal(1, (await cache.GetAsync<int>(CacheKey.Create("k"))).Value); // nothing was purged
        StreamEntry[] audit = await redis.Admin.GetDatabase().StreamRangeAsync($"{{{prefix}}}:audit");
        Assert.Equal(["suspended", "refused", "refused"], audit.Select(e => e["phase"].ToString()));
        Assert.Equal("tenant:default", audit[1]["scope"]);
        Assert.Equal("batch@example", audit[1]["actor"]);
        Assert.Equal("nightly cleanup", audit[1]["reason"]);
        Assert.Equal("kill switch engaged by administration", audit[1]["cause"]);
        Assert.Equal("all-tenants", audit[2]["scope"]);
        Assert.Contains(audit[1].Id.ToString(), tenant.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Purge_is_refused_when_the_configuration_engages_the_switch_naming_the_option()
    {
        string prefix = NewPrefix();
        var admin = new SmartCacheAdministration(new SmartCacheOptions { KeyPrefix = prefix, SuspendAggressiveInvalidation = true }, RedisConnection.FromExisting(redis.Admin), null, null);

        var ex = await Assert.ThrowsAsync<AggressiveInvalidationSuspendedException>(async () => await admin.PurgeTenantAsync("a", "ops", "why"));

        Assert.Contains("SmartCacheOptions.SuspendAggressiveInvalidation", ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<InvalidOperationException>(ex);
        Assert.Equal("refused", (await redis.Admin.GetDatabase().StreamRangeAsync($"{{{prefix}}}:audit")).Single()["phase"]);
    }

    [Fact]
    public async Task Key_source_version_invalidations_and_the_stale_set_check_keep_working_while_engaged()
    {
        string prefix = NewPrefix();
        using SmartCache cache = TestCache.Create(redis, o => o.KeyPrefix = prefix);
        await Admin(prefix, redis.Admin).SuspendAggressiveInvalidationAsync("ops@example", "incident 42");
        CacheKey byKey = CacheKey.Entity("product", 1);
        CacheKey bySource = CacheKey.Entity("product-view", 2);
        CacheKey byVersion = CacheKey.Create("search", "lamps");
        await cache.SetAsync(byKey, "v1");
        await cache.SetAsync(bySource, "v1", new CacheEntryOptions { DependsOn = ["product:2"] });
        await cache.SetAsync(byVersion, "v1");

        bool removed = await cache.InvalidateKeyAsync(byKey);
        long dependents = await cache.InvalidateSourceAsync("product:2");
        await cache.InvalidateNamespaceVersionAsync("search");

        Assert.True(removed);
        Assert.Equal(1, dependents);
        Assert.False((await cache.GetAsync<string>(byKey)).Found);
        Assert.False((await cache.GetAsync<string>(bySource)).Found);
        Assert.False((await cache.GetAsync<string>(byVersion)).Found);

        // No stale set: a value computed from a source invalidated meanwhile is returned but not cached.
        CacheKey view = CacheKey.Entity("product-view", 3);
        string loaded = await cache.GetOrSetAsync(view, async ct =>
        {
            await cache.InvalidateSourceAsync("product:3", ct);
            return "computed from the old product";
        }, new CacheEntryOptions { DependsOn = ["product:3"] });
        Assert.Equal("computed from the old product", loaded);
        Assert.False((await cache.GetAsync<string>(view)).Found);
    }

    internal static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..12];

    internal static SmartCacheAdministration Admin(string prefix, IConnectionMultiplexer connection) =>
        new(new SmartCacheOptions { KeyPrefix = prefix }, RedisConnection.FromExisting(connection), null, null);

    private static async Task FillAsync(ISmartCache cache)
    {
        foreach (CacheKey key in Docs)
        {
            await cache.SetAsync(key, "cached");
        }

        await cache.SetAsync(CacheKey.Create("faqs", "billing"), "cached");
    }

    /// <summary>Reads every entry of the namespace through the cache; returns how many reads ran the factory.</summary>
    private static async Task<int> FactoryCallsAsync(ISmartCache cache)
    {
        int calls = 0;
        foreach (CacheKey key in Docs)
        {
            await cache.GetOrSetAsync(key, _ => { calls++; return ValueTask.FromResult("fresh"); });
        }

        Assert.Equal("cached", await cache.GetOrSetAsync(CacheKey.Create("faqs", "billing"), _ => ValueTask.FromResult("fresh"))); // another namespace is untouched
        return calls;
    }
}
