namespace CacheInvalidation;

/// <summary>
/// What an orphan count or cleanup found. An orphan is an entry left under old versions (after a global or namespace
/// version bump): unreadable forever, it only occupies memory until its TTL ends.
/// </summary>
/// <param name="Scanned">Keys the scan returned (entries, leases and namespace versions of the tenant).</param>
/// <param name="Entries">Entry keys among them.</param>
/// <param name="Sampled">Entries checked: a uniform sample of <see cref="Entries"/> for a count, every entry for a cleanup.</param>
/// <param name="OrphansFound">Orphans among the entries checked (removed or not).</param>
/// <param name="EstimatedOrphans">
/// For a count, the orphans estimated in the whole keyspace (the sample's orphan fraction times <see cref="Entries"/>);
/// for a cleanup, the orphans it left in place (they expire within <see cref="OrphanCleanupOptions.MaxOrphanLifetime"/>).
/// </param>
/// <param name="Removed">Orphans removed (0 for a count).</param>
/// <param name="MaxRemainingLifetime">The longest time a found orphan would still have lived (its PTTL); <see cref="TimeSpan.MaxValue"/> for one without a TTL; zero when none was found.</param>
/// <param name="MedianRemainingLifetime">The median of the found orphans' remaining lifetimes (over a bounded sample of them).</param>
/// <param name="Namespaces">The same per namespace (the root namespace is ""), for the namespaces where orphans were found, most orphans first.</param>
/// <param name="Elapsed">Wall time, rate-limit pauses included.</param>
public sealed record OrphanReport(
    long Scanned,
    long Entries,
    long Sampled,
    long OrphansFound,
    long EstimatedOrphans,
    long Removed,
    TimeSpan MaxRemainingLifetime,
    TimeSpan MedianRemainingLifetime,
    IReadOnlyList<NamespaceOrphans> Namespaces,
    TimeSpan Elapsed);
