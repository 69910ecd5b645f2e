using StackExchange.Redis;

namespace CacheInvalidation.Tests.Consistency;

/// <summary>
/// The seed documents' cache-aside: GET; on a miss load and SETEX; DEL after a write. It has the stale-set race, so the
/// checker must find stale data in it — the proof that the checker can fail.
/// </summary>
internal sealed class NaiveCacheAside(IDatabase database, string prefix) : ICacheUnderTest
{
    public async Task<int> ReadAsync(int entity, Func<CancellationToken, ValueTask<int>> load)
    {
        RedisValue cached = await database.StringGetAsync(Key(entity));
        if (cached.HasValue)
        {
            return (int)cached;
        }

        int value = await load(CancellationToken.None);
        await database.StringSetAsync(Key(entity), value, TimeSpan.FromMinutes(10));
        return value;
    }

    public Task InvalidateAsync(int entity) => database.KeyDeleteAsync(Key(entity));

    public async Task<int?> PeekAsync(int entity)
    {
        RedisValue cached = await database.StringGetAsync(Key(entity));
        return cached.HasValue ? (int)cached : null;
    }

    private string Key(int entity) => $"{prefix}:entity:{entity}";
}
