namespace CacheInvalidation.Client;

/// <summary>
/// The cache store (Redis) could not carry out an operation: it is unreachable, timed out or refused the command.
/// Reads never throw it (they fall back to the source); writes and invalidations do, because swallowing their failure
/// could leave stale data in the cache.
/// </summary>
public sealed class CacheStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CacheStoreException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public CacheStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the store's own exception.</summary>
    public CacheStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>
    /// True on an invalidation Redis did not confirm that the cache kept in its journal: it is applied as soon as Redis
    /// answers again, and until then reads of what it targets are served from the source, not from Redis.
    /// </summary>
    public bool Journaled { get; init; }
}
