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

    /// <summary>
    /// Removes exactly the entries derived from <paramref name="source"/> (see <see cref="CacheEntryOptions.DependsOn"/>)
    /// before this call, and voids the leases of values being computed from it, so none of them is written afterwards:
    /// the source's index is snapshotted in one atomic step, then drained completely in bounded batches (dependents
    /// registered meanwhile are not chased: they were computed from the changed source).
    /// </summary>
    /// <param name="source">The source, e.g. <c>product:42</c>.</param>
    /// <param name="cancellationToken">Stops between batches; the snapshot keeps what was not removed yet, and the next invalidation of the source finishes it.</param>
    /// <returns>The number of entries removed.</returns>
    /// <exception cref="ArgumentException"><paramref name="source"/> is empty or not a valid name.</exception>
    /// <exception cref="CacheStoreException">Redis failed; the snapshot still lists every dependent not yet removed, and the next invalidation of the source removes them.</exception>
    ValueTask<long> InvalidateSourceAsync(string source, CancellationToken cancellationToken = default);

    /// <summary>Invalidates several sources; see <see cref="InvalidateSourceAsync"/>.</summary>
    /// <returns>The number of entries removed.</returns>
    /// <exception cref="ArgumentException">A source is empty or not a valid name.</exception>
    /// <exception cref="CacheStoreException">Redis failed.</exception>
    ValueTask<long> InvalidateSourcesAsync(IEnumerable<string> sources, CancellationToken cancellationToken = default);

    /// <summary>
    /// Invalidates <paramref name="namespaceName"/> and the namespaces under it (<c>docs</c> includes
    /// <c>docs:technical</c>), then frees their memory: first a version bump makes every entry of them unreadable and
    /// every load of them unwritable, then SCAN and UNLINK delete the entries in bounded, rate-limited batches on every
    /// primary. Cancellable; call again to finish a cancelled scan. For the O(1) invalidation alone see
    /// <see cref="InvalidateNamespaceVersionAsync"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="namespaceName"/> is empty or not a valid name.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the namespace is invalidated if the bump was done, and the entries not reached yet still use memory.</exception>
    /// <exception cref="CacheStoreException">Redis failed part-way.</exception>
    ValueTask<NamespaceInvalidationReport> InvalidateNamespaceAsync(
        string namespaceName,
        NamespaceInvalidationOptions? options = null,
        IProgress<NamespaceInvalidationProgress>? progress = null,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Invalidates <paramref name="namespaceName"/> and the namespaces under it in O(1) per version shard by bumping its
    /// version: no scan, and the old entries age out by their TTL (they use memory until then).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="namespaceName"/> is empty or not a valid name.</exception>
    /// <exception cref="CacheStoreException">Redis failed.</exception>
    ValueTask InvalidateNamespaceVersionAsync(string namespaceName, CancellationToken cancellationToken = default);
}
