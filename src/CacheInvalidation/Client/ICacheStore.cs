using CacheInvalidation.Keys;

namespace CacheInvalidation.Client;

/// <summary>
/// The intents the cache needs from its store, each one atomic and one round trip per hash slot. Every method throws
/// <see cref="CacheStoreException"/> when the store fails.
/// </summary>
internal interface ICacheStore
{
    /// <summary>Resolves the entry's versions and reads it, in one round trip.</summary>
    Task<StoredEntry> ReadAsync(EntryAddress address, CancellationToken cancellationToken);

    /// <summary>Writes the entry if its versions still resolve to <paramref name="expectedStamp"/> (null: any); returns whether it was written.</summary>
    Task<bool> WriteAsync(EntryAddress address, string? expectedStamp, ReadOnlyMemory<byte> value, TimeSpan? ttl, CancellationToken cancellationToken);

    /// <summary>Deletes the entry under the current versions; returns whether it existed and the stamp it was deleted under.</summary>
    Task<(bool Removed, string Stamp)> DeleteAsync(EntryAddress address, CancellationToken cancellationToken);

    /// <summary>Increments each version key, pipelined; returns the new versions in the same order.</summary>
    Task<long[]> BumpAsync(IReadOnlyList<string> versionKeys, CancellationToken cancellationToken);
}
