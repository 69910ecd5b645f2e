using System.Net;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Consistency;

/// <summary>
/// The seed documents' cache-aside, for every kind of invalidation: GET; on a miss load and SETEX (adding the key to its
/// source's set); after a write DEL the key, the source's keys, or every key the namespace or tenant scan finds — or SET
/// the new value. It has the stale-set race, so the checker must find stale data in it — the proof that the checker can
/// fail for that kind.
/// </summary>
internal sealed class NaiveCacheAside(IConnectionMultiplexer connection, string prefix, InvalidationKind kind) : ICacheUnderTest
{
    private readonly IDatabase _database = connection.GetDatabase();

    public async Task<int> ReadAsync(int entity, Func<CancellationToken, ValueTask<int>> load)
    {
        RedisValue cached = await _database.StringGetAsync(Key(entity));
        if (cached.HasValue)
        {
            return (int)cached;
        }

        int value = await load(CancellationToken.None);
        await _database.StringSetAsync(Key(entity), value, TimeSpan.FromMinutes(10));
        await _database.SetAddAsync(SourceSet(entity), Key(entity).ToString());
        return value;
    }

    public async Task InvalidateAsync(int entity, int version)
    {
        switch (kind)
        {
            case InvalidationKind.Key:
                await _database.KeyDeleteAsync(Key(entity));
                break;
            case InvalidationKind.Source:
            case InvalidationKind.Sources:
                foreach (RedisValue member in await _database.SetMembersAsync(SourceSet(entity)))
                {
                    await _database.KeyDeleteAsync((string)member!);
                }

                break;
            case InvalidationKind.NamespaceVersion:
            case InvalidationKind.NamespaceScan:
                await DeleteMatchingAsync($"{{{prefix}}}:grp{entity % 4}:*");
                break;
            default:
                if (kind == InvalidationKind.Set)
                {
                    await _database.StringSetAsync(Key(entity), version, TimeSpan.FromMinutes(10));
                }
                else
                {
                    await DeleteMatchingAsync($"{{{prefix}}}:*");
                }

                break;
        }
    }

    public Task ForgetAsync(int entity) => _database.KeyDeleteAsync(Key(entity));

    public async Task<int?> PeekAsync(int entity)
    {
        RedisValue cached = await _database.StringGetAsync(Key(entity));
        return cached.HasValue ? (int)cached : null;
    }

    private RedisKey Key(int entity) => $"{{{prefix}}}:grp{entity % 4}:entity:{entity}";

    private RedisKey SourceSet(int entity) => $"{{{prefix}}}#src:{entity}";

    private async Task DeleteMatchingAsync(string pattern)
    {
        foreach (EndPoint endpoint in connection.GetEndPoints())
        {
            IServer server = connection.GetServer(endpoint);
            if (server.IsConnected && !server.IsReplica)
            {
                await foreach (RedisKey key in server.KeysAsync(pattern: pattern))
                {
                    await _database.KeyDeleteAsync(key);
                }
            }
        }
    }
}
