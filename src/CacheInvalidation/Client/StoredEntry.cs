namespace CacheInvalidation.Client;

/// <summary>
/// What the store found for an entry: its payload (the bytes after the stamp) on a hit; on a miss, when a lease was
/// asked for, the lease if this caller took it (none: another caller holds it).
/// </summary>
internal readonly record struct StoredEntry(ReadOnlyMemory<byte>? Payload, Lease? Lease, bool AskedForLease)
{
    public static StoredEntry Miss => new(null, null, false);

    public static StoredEntry Hit(ReadOnlyMemory<byte> payload) => new(payload, null, false);
}

/// <summary>The right to write one entry: the version stamp it must still match and the token its lease must still hold.</summary>
internal readonly record struct Lease(string Stamp, string Token);

/// <summary>How <see cref="ICacheStore.LeaseAsync"/> treats an existing entry and an existing lease.</summary>
internal enum LeaseMode
{
    /// <summary>Return the entry if it holds the current stamp; else take the lease if it is free.</summary>
    Read,

    /// <summary>Take the lease if it is free, whatever the entry (to refresh it).</summary>
    Take,

    /// <summary>Take the lease whoever holds it, voiding that holder's write (a direct set).</summary>
    Force,
}
