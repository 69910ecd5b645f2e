using CacheInvalidation.Client;
using CacheInvalidation.Keys;

namespace CacheInvalidation;

/// <summary>
/// Invalidates cached data. Every method either completes the invalidation or throws
/// (<see cref="CacheStoreException"/> when Redis fails): an invalidation is never lost silently.
/// </summary>
public interface ICacheInvalidator
{
    /// <summary>Removes one entry (under the current versions).</summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="cancellationToken">Stops waiting for the store.</param>
    /// <returns>True when an entry was removed, false when there was none.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is empty.</exception>
    /// <exception cref="CacheStoreException">Redis failed; the entry may still be cached.</exception>
    ValueTask<bool> InvalidateKeyAsync(CacheKey key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Invalidates every entry of the tenant at once by bumping the global version: O(1) per version shard, no key scan.
    /// The old entries are never read again and expire by their TTL.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting for the store.</param>
    /// <exception cref="CacheStoreException">Redis failed; some shards may not have been bumped.</exception>
    ValueTask InvalidateAllAsync(CancellationToken cancellationToken = default);
}
