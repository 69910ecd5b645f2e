using CacheInvalidation.Client;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Strategies;

/// <summary>
/// The version-tag strategy: entry keys embed the global version and the version of each enclosing namespace, which
/// the store's scripts resolve in the same round trip as the read. Bumping a version moves every read under it to new
/// keys in O(1) per shard; the old keys are never read again and age out by their TTL, and a value read under the old
/// versions is refused when written.
/// </summary>
internal sealed class VersionTagStrategy(ICacheStore store)
{
    /// <summary>Bumps the tenant's global version on every shard; returns the new versions.</summary>
    public Task<long[]> BumpGlobalAsync(KeyLayout layout, CancellationToken cancellationToken) =>
        store.BumpAsync(layout.GlobalVersionKeys(), cancellationToken);

    /// <summary>Bumps the version of <paramref name="namespace"/> (and so of every namespace under it) on every shard.</summary>
    public Task<long[]> BumpNamespaceAsync(KeyLayout layout, string @namespace, CancellationToken cancellationToken) =>
        store.BumpAsync(layout.NamespaceVersionKeys(@namespace), cancellationToken);
}
