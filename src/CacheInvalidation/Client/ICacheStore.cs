using CacheInvalidation.Keys;

namespace CacheInvalidation.Client;

/// <summary>
/// The intents the cache needs from its store, each one atomic and one round trip per hash slot. Every method throws
/// <see cref="CacheStoreException"/> when the store fails.
/// </summary>
internal interface ICacheStore
{
    /// <summary>Resolves the entry's versions and reads it in one round trip; on a miss, takes the key's lease for <paramref name="lease"/> if free.</summary>
    Task<StoredEntry> ReadAsync(EntryAddress address, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Takes the key's lease for <paramref name="lease"/> if it is free, without reading the entry.</summary>
    Task<StoredEntry> AcquireLeaseAsync(EntryAddress address, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the entry if its versions still resolve to <paramref name="expectedStamp"/> (null: any) and, with a
    /// <paramref name="leaseToken"/>, if that lease still holds; without one, voids any lease. Returns whether it was written.
    /// </summary>
    Task<bool> WriteAsync(EntryAddress address, string? expectedStamp, string? leaseToken, ReadOnlyMemory<byte> value, TimeSpan? ttl, CancellationToken cancellationToken);

    /// <summary>Gives the lease back if it still holds <paramref name="leaseToken"/>.</summary>
    Task ReleaseLeaseAsync(EntryAddress address, string leaseToken, CancellationToken cancellationToken);

    /// <summary>Deletes the entry under the current versions and voids its lease; returns whether it existed and the stamp it was deleted under.</summary>
    Task<(bool Removed, string Stamp)> DeleteAsync(EntryAddress address, CancellationToken cancellationToken);

    /// <summary>Adds <paramref name="member"/> (an entry key) to each source index, keeping each index's TTL at least <paramref name="ttl"/>; pipelined.</summary>
    Task RegisterDependentAsync(IReadOnlyList<string> indexKeys, string member, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Removes up to <paramref name="batchSize"/> dependents of a source, with their leases; returns what was popped, removed and is left.</summary>
    Task<(long Popped, long Removed, long Remaining)> InvalidateSourceBatchAsync(string indexKey, int batchSize, CancellationToken cancellationToken);

    /// <summary>One pruning step over a source index; returns the next cursor (0 when done) and how many dead members were removed.</summary>
    Task<(long Cursor, long Pruned)> PruneSourceIndexAsync(string indexKey, long cursor, int count, CancellationToken cancellationToken);

    /// <summary>Increments each version key, pipelined; returns the new versions in the same order.</summary>
    Task<long[]> BumpAsync(IReadOnlyList<string> versionKeys, CancellationToken cancellationToken);
}
