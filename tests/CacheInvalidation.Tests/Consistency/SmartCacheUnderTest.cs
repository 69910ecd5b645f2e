using CacheInvalidation.Keys;

namespace CacheInvalidation.Tests.Consistency;

/// <summary>SmartCache as the checker drives it: GetOrSetAsync to read; after a write, the invalidation of its kind.</summary>
internal sealed class SmartCacheUnderTest(ISmartCache cache, ISmartCacheAdministration admin, string tenant, InvalidationKind kind) : ICacheUnderTest
{
    /// <summary>Entities are spread over this many namespaces, so a namespace invalidation concerns several of them.</summary>
    private const int Groups = 4;

    public async Task<int> ReadAsync(int entity, Func<CancellationToken, ValueTask<int>> load) =>
        await cache.GetOrSetAsync(Key(entity), load, Options(entity));

    public async Task InvalidateAsync(int entity, int version)
    {
        switch (kind)
        {
            case InvalidationKind.Key:
                await cache.InvalidateKeyAsync(Key(entity));
                break;
            case InvalidationKind.Source:
                await cache.InvalidateSourceAsync(Source(entity));
                break;
            case InvalidationKind.Sources:
                await cache.InvalidateSourcesAsync([Source(entity), Source(entity + 1)]);
                break;
            case InvalidationKind.NamespaceVersion:
                await cache.InvalidateNamespaceVersionAsync(Group(entity));
                break;
            case InvalidationKind.NamespaceScan:
                await cache.InvalidateNamespaceAsync(Group(entity), new NamespaceInvalidationOptions { BatchSize = 20 });
                break;
            case InvalidationKind.All:
                await cache.InvalidateAllAsync();
                break;
            case InvalidationKind.TenantPurge:
                await admin.PurgeTenantAsync(tenant, "checker", "consistency check");
                break;
            case InvalidationKind.AllTenantsPurge:
                await admin.PurgeAllTenantsAsync("checker", "consistency check");
                break;
            case InvalidationKind.Set:
                await cache.SetAsync(Key(entity), version, Options(entity));
                break;
        }
    }

    /// <remarks>Two confirmation rounds: the first may leave a sequence pending for its message, the second flushes what never came.</remarks>
    public async Task SettleAsync()
    {
        if (cache is SmartCache smart)
        {
            await smart.ConfirmLocalAsync();
            await smart.ConfirmLocalAsync();
        }
    }

    public async Task ForgetAsync(int entity) => await cache.InvalidateKeyAsync(Key(entity));

    public async Task<int?> PeekAsync(int entity)
    {
        CacheResult<int> cached = await cache.GetAsync<int>(Key(entity));
        return cached.Found ? cached.Value : null;
    }

    private static string Group(int entity) => $"grp{entity % Groups}";

    private static string Source(int entity) => $"entity:{entity}";

    private CacheKey Key(int entity) =>
        kind is InvalidationKind.NamespaceVersion or InvalidationKind.NamespaceScan ? CacheKey.Entity(Group(entity) + ":entity", entity) : CacheKey.Entity("entity", entity);

    private CacheEntryOptions? Options(int entity) =>
        kind is InvalidationKind.Source or InvalidationKind.Sources
            ? new CacheEntryOptions { DependsOn = [Source(entity), "table:entities"] }
            : null;
}
