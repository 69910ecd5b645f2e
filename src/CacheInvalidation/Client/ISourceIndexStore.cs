using CacheInvalidation.Keys;

namespace CacheInvalidation.Client;

/// <summary>
/// What the dependency-set strategy needs from the store: source indexes (entry key → token of the load that registered
/// it), their atomic snapshots, and deleting entries with their leases. Every method throws
/// <see cref="CacheStoreException"/> when the store fails.
/// </summary>
internal interface ISourceIndexStore
{
    /// <summary>Registers <paramref name="entryKey"/> under <paramref name="token"/> in each index, keeping each index's TTL at least <paramref name="ttl"/>; pipelined.</summary>
    Task RegisterAsync(IReadOnlyList<string> indexKeys, string entryKey, string token, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Renames the live index to a new snapshot in one atomic step; returns every snapshot of the source still to drain.</summary>
    Task<string[]> SnapshotAsync(SourceKeys source, CancellationToken cancellationToken);

    /// <summary>Removes <paramref name="drained"/> from a snapshot and returns up to <paramref name="count"/> members left (none: the snapshot is done).</summary>
    Task<string[]> DrainStepAsync(SourceKeys source, string snapshot, IReadOnlyList<string> drained, int count, CancellationToken cancellationToken);

    /// <summary>Deletes entries and voids their leases, grouped by hash slot; returns how many entries existed.</summary>
    Task<long> DeleteEntriesAsync(IReadOnlyList<string> entryKeys, CancellationToken cancellationToken);

    /// <summary>
    /// One pruning step over a live index: removes <paramref name="dead"/> members that still hold the token they had,
    /// then reads the page at <paramref name="cursor"/> (none when null). Returns the next cursor, the page and how many
    /// members were removed.
    /// </summary>
    Task<(long Cursor, IReadOnlyList<(string Member, string Token)> Page, long Removed)> PruneStepAsync(string indexKey, long? cursor, int count, IReadOnlyList<(string Member, string Token)> dead, CancellationToken cancellationToken);

    /// <summary>Which of the given entries are gone: neither the entry nor its lease exists.</summary>
    Task<bool[]> AreGoneAsync(IReadOnlyList<string> entryKeys, CancellationToken cancellationToken);
}
