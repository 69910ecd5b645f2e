using CacheInvalidation.Client;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Integration;

[Collection(RedisCollection.Name)]
public sealed class TenancyAndAuditTests(RedisFixture redis)
{
    /// <summary>The tenant of the current async flow, as a request-scoped accessor would supply it.</summary>
    private sealed class AmbientTenant : ITenantAccessor
    {
        private readonly AsyncLocal<string?> _tenant = new();

        public string? CurrentTenant => _tenant.Value;

        public async Task<T> As<T>(string tenant, Func<Task<T>> work)
        {
            _tenant.Value = tenant;
            try
            {
                return await work();
            }
            finally
            {
                _tenant.Value = null;
            }
        }
    }

    private (SmartCache Cache, AmbientTenant Tenant, string Prefix) CreateWithAccessor()
    {
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        var tenant = new AmbientTenant();
        var options = new SmartCacheOptions { KeyPrefix = prefix };
        TestCache.Patient(options);
        var cache = new SmartCache(options, TestCache.Connection(redis.Admin, options), ownsConnection: false, null, null, tenant);
        return (cache, tenant, prefix);
    }

    [Fact]
    public async Task Ambient_tenant_scopes_reads_and_every_invalidation()
    {
        (SmartCache cache, AmbientTenant tenant, _) = CreateWithAccessor();
        using (cache)
        {
            CacheKey key = CacheKey.Create("docs", "home");
            var entry = new CacheEntryOptions { DependsOn = ["page:home"] };
            await tenant.As("a", async () => { await cache.SetAsync(key, "A", entry); return 0; });
            await tenant.As("b", async () => { await cache.SetAsync(key, "B", entry); return 0; });

            // Tenant A invalidates with every method; tenant B's entry survives all of them.
            await tenant.As("a", async () => await cache.InvalidateSourceAsync("page:home"));
            await tenant.As("a", async () => { await cache.InvalidateAllAsync(); return 0; });
            await tenant.As("a", async () => await cache.InvalidateNamespaceAsync("docs"));
            await tenant.As("a", async () => await cache.InvalidateKeyAsync(key));

            Assert.False((await tenant.As("a", async () => await cache.GetAsync<string>(key))).Found);
            Assert.Equal("B", (await tenant.As("b", async () => await cache.GetAsync<string>(key))).Value);
        }
    }

    [Fact]
    public async Task Invalid_ambient_tenant_is_rejected_naming_it()
    {
        (SmartCache cache, AmbientTenant tenant, _) = CreateWithAccessor();
        using (cache)
        {
            var ex = await Assert.ThrowsAsync<ArgumentException>(() => tenant.As("*", async () => await cache.GetAsync<string>(CacheKey.Create("k"))));
            Assert.Equal("tenant", ex.ParamName);
        }
    }

    [Fact]
    public async Task Tenant_purge_is_audited_before_it_acts_and_spares_other_tenants()
    {
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        using SmartCache tenantA = TestCache.Create(redis, o => { o.KeyPrefix = prefix; o.Tenant = "a"; });
        using SmartCache tenantB = TestCache.Create(redis, o => { o.KeyPrefix = prefix; o.Tenant = "b"; });
        for (int i = 0; i < 50; i++)
        {
            await tenantA.SetAsync(CacheKey.Entity("item", i), i, new CacheEntryOptions { DependsOn = [$"src:{i}"] });
            await tenantB.SetAsync(CacheKey.Entity("item", i), i);
        }

        var admin = new SmartCacheAdministration(new SmartCacheOptions { KeyPrefix = prefix }, RedisConnection.FromExisting(redis.Admin), null, null);
        PurgeReport report = await admin.PurgeTenantAsync("a", actor: "ops@example", reason: "tenant offboarded");

        IDatabase db = redis.Admin.GetDatabase();
        StreamEntry[] audit = await db.StreamRangeAsync($"{{{prefix}}}:audit");
        Assert.Equal(2, audit.Length);
        Assert.Equal("started", audit[0]["phase"]);
        Assert.Equal("0", audit[0]["keys"]); // written before anything was deleted
        Assert.Equal(report.AuditId, audit[0].Id.ToString());
        Assert.Equal("completed", audit[1]["phase"]);
        Assert.Equal("ops@example", audit[1]["actor"]);
        Assert.Equal("tenant offboarded", audit[1]["reason"]);
        Assert.Equal("tenant:a", audit[1]["scope"]);
        Assert.Equal(report.Deleted.ToString(System.Globalization.CultureInfo.InvariantCulture), audit[1]["keys"]);
        // 50 entries (unlinked, or removed by draining their dependency indexes), the global and "item" versions of the shards
        // and their invalidation sequences.
        Assert.InRange(report.Deleted, 50, 50 + (3 * 16));
        Assert.DoesNotContain(await TestCache.KeysAsync(redis, tenantA), k => k.StartsWith($"{{{prefix}:a#", StringComparison.Ordinal));
        Assert.False((await tenantA.GetAsync<int>(CacheKey.Entity("item", 1))).Found);
        Assert.Equal(1, (await tenantB.GetAsync<int>(CacheKey.Entity("item", 1))).Value);
    }

    [Fact]
    public async Task Global_purge_removes_every_tenant_but_keeps_the_audit()
    {
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        using SmartCache tenantA = TestCache.Create(redis, o => { o.KeyPrefix = prefix; o.Tenant = "a"; });
        using SmartCache tenantB = TestCache.Create(redis, o => { o.KeyPrefix = prefix; o.Tenant = "b"; });
        using SmartCache otherPrefix = TestCache.Create(redis);
        await tenantA.SetAsync(CacheKey.Create("k"), 1);
        await tenantB.SetAsync(CacheKey.Create("k"), 1);
        await otherPrefix.SetAsync(CacheKey.Create("k"), 1);

        var admin = new SmartCacheAdministration(new SmartCacheOptions { KeyPrefix = prefix }, RedisConnection.FromExisting(redis.Admin), null, null);
        await admin.PurgeAllTenantsAsync("ops@example", "schema change");

        Assert.Empty(await TestCache.KeysAsync(redis, tenantA));
        Assert.True((await otherPrefix.GetAsync<int>(CacheKey.Create("k"))).Found);
        Assert.Equal(2, await redis.Admin.GetDatabase().StreamLengthAsync($"{{{prefix}}}:audit"));
    }

    [Theory]
    [InlineData("*", "ops", "why", "tenant")]
    [InlineData("a?", "ops", "why", "tenant")]
    [InlineData("", "ops", "why", "tenant")]
    [InlineData("a", "", "why", "actor")]
    [InlineData("a", "ops", " ", "reason")]
    public async Task Purge_refuses_what_it_cannot_scope_or_audit(string tenant, string actor, string reason, string parameter)
    {
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        var admin = new SmartCacheAdministration(new SmartCacheOptions { KeyPrefix = prefix }, RedisConnection.FromExisting(redis.Admin), null, null);

        var ex = await Assert.ThrowsAnyAsync<ArgumentException>(async () => await admin.PurgeTenantAsync(tenant, actor, reason));

        Assert.Equal(parameter, ex.ParamName);
        Assert.False(await redis.Admin.GetDatabase().KeyExistsAsync($"{{{prefix}}}:audit"));
    }
}
