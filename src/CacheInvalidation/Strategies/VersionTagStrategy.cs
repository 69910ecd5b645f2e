using CacheInvalidation.Client;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Strategies;

/// <summary>
/// The version-tag strategy: entry keys embed the global version and the version of each enclosing namespace. Bumping
/// a version moves every read under it to new keys in O(1) per shard; the old keys are never read again and age out by
/// their TTL. Reads resolve the versions and the entry in one round trip, and a write only lands if the versions are
/// still the ones its value was read under.
/// </summary>
internal sealed class VersionTagStrategy(KeyLayout layout, ICacheStore store)
{
    private readonly string[] _globalVersionKeys = layout.GlobalVersionKeys();

    public Task<StoredEntry> ReadAsync(EntryAddress address, CancellationToken cancellationToken) =>
        store.ReadAsync(address, cancellationToken);

    /// <summary>Writes under <paramref name="readStamp"/> (null: the current versions); false when a bump happened since.</summary>
    public Task<bool> WriteAsync(EntryAddress address, string? readStamp, ReadOnlyMemory<byte> value, TimeSpan? ttl, CancellationToken cancellationToken) =>
        store.WriteAsync(address, readStamp, value, ttl, cancellationToken);

    /// <summary>Bumps the global version on every shard; returns the new versions.</summary>
    public Task<long[]> BumpGlobalAsync(CancellationToken cancellationToken) =>
        store.BumpAsync(_globalVersionKeys, cancellationToken);

    /// <summary>Bumps the version of <paramref name="namespace"/> (and so of every namespace under it) on every shard.</summary>
    public Task<long[]> BumpNamespaceAsync(string @namespace, CancellationToken cancellationToken) =>
        store.BumpAsync(layout.NamespaceVersionKeys(@namespace), cancellationToken);
}
