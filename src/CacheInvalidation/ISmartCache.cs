using CacheInvalidation.Client;
using CacheInvalidation.Keys;

namespace CacheInvalidation;

/// <summary>
/// Reads and writes through the cache. Reads never fail because of the cache: when Redis is unreachable they fall back
/// to the source (or report a miss) and log it. Writes and invalidations throw <see cref="CacheStoreException"/>
/// instead, since a write that silently failed could leave stale data behind.
/// </summary>
public interface ISmartCache : ICacheInvalidator
{
    /// <summary>Reads an entry. A missing, unreadable or corrupt entry, or an unreachable Redis, is a miss.</summary>
    /// <exception cref="ArgumentException"><paramref name="key"/> is empty.</exception>
    ValueTask<CacheResult<T>> GetAsync<T>(CacheKey key, CancellationToken cancellationToken = default);

    /// <summary>Writes an entry under the current versions, with the TTL its options give.</summary>
    /// <exception cref="ArgumentException"><paramref name="key"/> is empty.</exception>
    /// <exception cref="CacheStoreException">Redis failed; an older value may still be cached.</exception>
    ValueTask SetAsync<T>(CacheKey key, T value, CacheEntryOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns the cached value, or calls <paramref name="factory"/> on a miss and caches its result. A cache hit costs
    /// one Redis round trip, version resolution included. The factory's value is returned even when it cannot be cached.
    /// </summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="factory">
    /// Loads the value from the source of truth; its exceptions reach every caller sharing the call, and nothing is
    /// cached. Concurrent callers of the same key share one call, so the token it receives is not any single caller's:
    /// it is cancelled only when every caller sharing the call has given up (entries that are not cached call it
    /// directly with the caller's token).
    /// </param>
    /// <param name="options">TTL, data class, content type and dependencies; null for the defaults. Callers that join a
    /// load already in flight get the value loaded with the options of the caller that started it; their
    /// <see cref="CacheEntryOptions.DependsOn"/> sources are registered too when they join before the factory runs, and
    /// when they join later with a source the load did not register, the value is returned but not cached.</param>
    /// <param name="cancellationToken">Stops this caller's wait; the shared load goes on for the others.</param>
    /// <exception cref="ArgumentException"><paramref name="key"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="factory"/> is null.</exception>
    ValueTask<T> GetOrSetAsync<T>(CacheKey key, Func<CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Like <see cref="GetOrSetAsync{T}(CacheKey, Func{CancellationToken, ValueTask{T}}, CacheEntryOptions?, CancellationToken)"/>,
    /// passing <paramref name="state"/> to a static factory so the hot path allocates no closure.
    /// </summary>
    ValueTask<T> GetOrSetAsync<TState, T>(CacheKey key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Removes one entry; the same as <see cref="ICacheInvalidator.InvalidateKeyAsync"/>.</summary>
    ValueTask<bool> RemoveAsync(CacheKey key, CancellationToken cancellationToken = default);
}
