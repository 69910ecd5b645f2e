using CacheInvalidation.Keys;

namespace CacheInvalidation.Client;

/// <summary>Checks entries for orphans and removes them, each check atomic with its entry's versions. Throws <see cref="CacheStoreException"/> when the store fails.</summary>
internal interface IOrphanStore
{
    /// <summary>
    /// Checks each entry against its scope's current versions (one atomic script per hash slot). With
    /// <paramref name="removeAbove"/>, also unlinks, in the same atomic step, each orphan that would live longer than it
    /// (or has no TTL); <see cref="TimeSpan.Zero"/> removes every orphan. Returns one state per entry, in order.
    /// </summary>
    Task<EntryCheck[]> CheckAsync(IReadOnlyList<OrphanCandidate> entries, TimeSpan? removeAbove, CancellationToken cancellationToken);
}

/// <summary>An entry key found by a scan and the scope whose versions decide whether it is current.</summary>
internal readonly record struct OrphanCandidate(string EntryKey, string Namespace, VersionScope Scope);

/// <summary>What a check found about one entry.</summary>
internal enum EntryStatus
{
    /// <summary>Its stamp is its scope's current versions: readable.</summary>
    Current = 0,

    /// <summary>An orphan, left in place (it dies soon enough, or the call only counts).</summary>
    Orphan = 1,

    /// <summary>An orphan, unlinked by this check.</summary>
    Removed = 2,

    /// <summary>No longer there (expired, evicted or deleted since the scan).</summary>
    Gone = 3,
}

/// <summary>One entry's check: its status and its remaining lifetime in ms (PTTL: -1 when it has no TTL).</summary>
internal readonly record struct EntryCheck(EntryStatus Status, long TtlMilliseconds)
{
    /// <summary>Whether the entry is unreadable under its scope's current versions (removed or not).</summary>
    public bool IsOrphan => Status is EntryStatus.Orphan or EntryStatus.Removed;
}
