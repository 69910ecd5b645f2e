using CacheInvalidation.Keys;

namespace CacheInvalidation.Tests.Consistency;

/// <summary>SmartCache as the checker drives it: GetOrSetAsync to read, InvalidateKeyAsync after a write.</summary>
internal sealed class SmartCacheUnderTest(ISmartCache cache) : ICacheUnderTest
{
    public async Task<int> ReadAsync(int entity, Func<CancellationToken, ValueTask<int>> load) =>
        await cache.GetOrSetAsync(CacheKey.Entity("entity", entity), load);

    public async Task InvalidateAsync(int entity) => await cache.InvalidateKeyAsync(CacheKey.Entity("entity", entity));

    public async Task<int?> PeekAsync(int entity)
    {
        CacheResult<int> cached = await cache.GetAsync<int>(CacheKey.Entity("entity", entity));
        return cached.Found ? cached.Value : null;
    }
}
