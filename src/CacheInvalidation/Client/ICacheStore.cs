using CacheInvalidation.Keys;

namespace CacheInvalidation.Client;

/// <summary>
/// What the cache needs from its store for entries, leases and versions; each intent is atomic and one round trip per
/// hash slot. Every method throws <see cref="CacheStoreException"/> when the store fails.
/// </summary>
internal interface ICacheStore
{
    /// <summary>Reads the entry and its scope's versions in one atomic command: a hit only if its stamp is the current one. Creates nothing.</summary>
    Task<StoredEntry> ReadAsync(EntryAddress address, CancellationToken cancellationToken);

    /// <summary>The miss path: see <see cref="LeaseMode"/>. Creates missing versions (with a TTL).</summary>
    Task<StoredEntry> LeaseAsync(EntryAddress address, LeaseMode mode, CancellationToken cancellationToken);

    /// <summary>Extends a held lease by the lease time; false when it was voided.</summary>
    Task<bool> ExtendLeaseAsync(EntryAddress address, Lease lease, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the entry (the lease's stamp, then <paramref name="payload"/>) if the lease still holds and the stamp is still
    /// current; releases the lease. A direct set <paramref name="replaces"/> a value other nodes may hold: it is announced.
    /// Returns whether it was written.
    /// </summary>
    Task<bool> WriteAsync(EntryAddress address, Lease lease, ReadOnlyMemory<byte> payload, TimeSpan? ttl, bool replaces, CancellationToken cancellationToken);

    /// <summary>A direct set with no dependency to register: voids any lease and writes under the current stamp, in one atomic step.</summary>
    Task SetAsync(EntryAddress address, ReadOnlyMemory<byte> payload, TimeSpan? ttl, CancellationToken cancellationToken);

    /// <summary>Gives the lease back if it still holds its token.</summary>
    Task ReleaseLeaseAsync(EntryAddress address, Lease lease, CancellationToken cancellationToken);

    /// <summary>Deletes the entry and voids its lease; returns whether an entry existed.</summary>
    Task<bool> DeleteAsync(EntryAddress address, CancellationToken cancellationToken);

    /// <summary>Increments each existing version key, pipelined; returns the new versions (0 for a missing one).</summary>
    Task<long[]> BumpAsync(IReadOnlyList<string> versionKeys, CancellationToken cancellationToken);

    /// <summary>Records <paramref name="layout"/> under <paramref name="key"/> unless a layout is recorded; returns the recorded one.</summary>
    Task<string> ClaimLayoutAsync(string key, string layout, CancellationToken cancellationToken);
}
