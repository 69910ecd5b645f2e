namespace CacheInvalidation.Client;

/// <summary>
/// The stores a cache works with, over the lanes of one connection: the read-through's (hits with the soft read timeout,
/// the calls of a miss with the write timeout; the caller then falls back to the source) and the operations' (direct
/// sets and invalidations: the client's own timeout, failures reported to the caller).
/// </summary>
internal sealed record CacheStores(ICacheStore ReadStore, ISourceIndexStore ReadIndexes, ICacheStore Store, ISourceIndexStore Indexes, IKeyspace Keyspace, IInvalidationFeed Feed)
{
    /// <summary>The measurements of the cache these stores serve (its connection's).</summary>
    public Diagnostics.CacheMetrics Metrics { get; init; } = Diagnostics.CacheMetrics.Shared;

    /// <summary>The Redis stores over <paramref name="connection"/> and its resilience.</summary>
    public static CacheStores ForRedis(RedisConnection connection, TimeSpan leaseTime, Microsoft.Extensions.Logging.ILogger? logger = null) => new(
        new RedisCacheStore(connection, leaseTime, connection.Resilience.Reads, connection.Resilience.Writes),
        new RedisSourceIndexStore(connection, connection.Resilience.Writes),
        new RedisCacheStore(connection, leaseTime, connection.Resilience.Reads, connection.Resilience.Operations, logger),
        new RedisSourceIndexStore(connection, connection.Resilience.Operations),
        new RedisKeyspace(connection),
        new RedisInvalidationFeed(connection))
    {
        Metrics = connection.Resilience.Metrics,
    };
}
