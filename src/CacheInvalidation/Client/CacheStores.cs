namespace CacheInvalidation.Client;

/// <summary>
/// The stores a cache works with, in two lanes of one connection: the read lane (soft timeout, then the caller falls back
/// to the source) for everything a reader or a direct set waits on, and the operation lane for invalidations.
/// </summary>
internal sealed record CacheStores(ICacheStore ReadStore, ISourceIndexStore ReadIndexes, ICacheStore Store, ISourceIndexStore Indexes, IKeyspace Keyspace)
{
    /// <summary>The Redis stores over <paramref name="connection"/> and its resilience.</summary>
    public static CacheStores ForRedis(RedisConnection connection, TimeSpan leaseTime) => new(
        new RedisCacheStore(connection, leaseTime, connection.Resilience.Reads),
        new RedisSourceIndexStore(connection, connection.Resilience.Reads),
        new RedisCacheStore(connection, leaseTime, connection.Resilience.Operations),
        new RedisSourceIndexStore(connection, connection.Resilience.Operations),
        new RedisKeyspace(connection));
}
