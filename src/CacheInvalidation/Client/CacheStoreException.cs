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
}
