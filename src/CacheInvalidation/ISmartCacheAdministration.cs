using CacheInvalidation.Client;

namespace CacheInvalidation;

/// <summary>
/// Operations that reach beyond one tenant, or the server itself. Every purge is audited — a structured log entry and
/// a record in the prefix's audit stream, with actor, reason and scope — before it acts, and again when it is done; so
/// is every change of the kill switch, and every purge it refuses.
/// </summary>
public interface ISmartCacheAdministration
{
    /// <summary>Deletes every key of one tenant (entries, versions, leases, dependency indexes).</summary>
    /// <param name="tenant">The tenant; a valid key part (no wildcard can be smuggled in).</param>
    /// <param name="actor">Who asks (a user or service name), for the audit.</param>
    /// <param name="reason">Why, for the audit.</param>
    /// <param name="cancellationToken">Stops the scan between batches (the audit shows how far it got).</param>
    /// <exception cref="ArgumentException">An argument is empty or the tenant is not a valid key part.</exception>
    /// <exception cref="AggressiveInvalidationSuspendedException">The kill switch is engaged: nothing was deleted; the refusal is audited.</exception>
    /// <exception cref="CacheStoreException">Redis failed, possibly part-way; the audit stream shows the start.</exception>
    ValueTask<PurgeReport> PurgeTenantAsync(string tenant, string actor, string reason, CancellationToken cancellationToken = default);

    /// <summary>Deletes every key under the key prefix, for all tenants.</summary>
    /// <param name="actor">Who asks (a user or service name), for the audit.</param>
    /// <param name="reason">Why, for the audit.</param>
    /// <param name="cancellationToken">Stops the scan between batches (the audit shows how far it got).</param>
    /// <exception cref="ArgumentException"><paramref name="actor"/> or <paramref name="reason"/> is empty.</exception>
    /// <exception cref="AggressiveInvalidationSuspendedException">The kill switch is engaged: nothing was deleted; the refusal is audited.</exception>
    /// <exception cref="CacheStoreException">Redis failed, possibly part-way.</exception>
    ValueTask<PurgeReport> PurgeAllTenantsAsync(string actor, string reason, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads <c>maxmemory</c> and <c>maxmemory-policy</c>, applies the configured values when
    /// <see cref="MemoryPolicyOptions.Apply"/> is set, and reports what cannot work. Never throws for a server where
    /// CONFIG is unavailable: that is a warning in the report.
    /// </summary>
    ValueTask<MemoryPolicyReport> InspectMemoryPolicyAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Engages the kill switch for every node of the key prefix (it is stored in Redis, <c>{prefix}:kill-switch</c>):
    /// from the next aggressive invalidation on, namespace invalidations are done as O(1) version bumps instead of scans
    /// (nothing is lost: the bump voids at least what the scan would delete) and purges are refused with
    /// <see cref="AggressiveInvalidationSuspendedException"/>. Key, source, version and event invalidations and the
    /// no-stale-set checks keep working. The change and its audit record (phase <c>suspended</c>, actor, reason) are
    /// written in one transaction, and logged.
    /// </summary>
    /// <param name="actor">Who engages it (a user or service name), for the audit.</param>
    /// <param name="reason">Why, for the audit (an incident number, say).</param>
    /// <param name="cancellationToken">Stops waiting for Redis.</param>
    /// <returns>The switch's state after the change.</returns>
    /// <exception cref="ArgumentException"><paramref name="actor"/> or <paramref name="reason"/> is empty.</exception>
    /// <exception cref="CacheStoreException">Redis failed; the switch is as it was, unless Redis committed before the failure (read the status).</exception>
    ValueTask<AggressiveInvalidationStatus> SuspendAggressiveInvalidationAsync(string actor, string reason, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lifts the kill switch engaged by <see cref="SuspendAggressiveInvalidationAsync"/>, for every node; audited the
    /// same way (phase <c>resumed</c>). A switch engaged by <see cref="SmartCacheOptions.SuspendAggressiveInvalidation"/>
    /// stays engaged until the configuration changes: the returned status says so.
    /// </summary>
    /// <param name="actor">Who lifts it, for the audit.</param>
    /// <param name="reason">Why, for the audit.</param>
    /// <param name="cancellationToken">Stops waiting for Redis.</param>
    /// <returns>The switch's state after the change.</returns>
    /// <exception cref="ArgumentException"><paramref name="actor"/> or <paramref name="reason"/> is empty.</exception>
    /// <exception cref="CacheStoreException">Redis failed; the switch is as it was, unless Redis committed before the failure (read the status).</exception>
    ValueTask<AggressiveInvalidationStatus> ResumeAggressiveInvalidationAsync(string actor, string reason, CancellationToken cancellationToken = default);

    /// <summary>Reads the kill switch: engaged or not, by configuration or by the administration, and the last administrative change.</summary>
    /// <param name="cancellationToken">Stops waiting for Redis.</param>
    /// <exception cref="CacheStoreException">Redis failed.</exception>
    ValueTask<AggressiveInvalidationStatus> GetAggressiveInvalidationStatusAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Estimates the orphans of the configured tenant — entries left under old versions by a global or namespace version
    /// bump: unreadable, they only occupy memory until their TTL ends. Scans the tenant's keys on every primary, checks a
    /// uniform sample of its entries (stamp and PTTL, atomically with their versions; no value is read) and scales up.
    /// Removes nothing. Updates the <c>cacheinvalidation.orphans.*</c> gauges.
    /// </summary>
    /// <param name="sampleSize">How many entries to check (1–1,000,000); the estimate is exact when the tenant has no more entries.</param>
    /// <param name="cancellationToken">Stops the scan between pages.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sampleSize"/> is outside 1–1,000,000.</exception>
    /// <exception cref="CacheStoreException">Redis failed, or a primary could not be scanned.</exception>
    ValueTask<OrphanReport> CountOrphansAsync(int sampleSize = 1_000, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes the orphans of the configured tenant that would live longer than
    /// <see cref="OrphanCleanupOptions.MaxOrphanLifetime"/> (every orphan when it is null), in batches of
    /// <see cref="OrphanCleanupOptions.BatchSize"/> paced to <see cref="OrphanCleanupOptions.KeysPerSecond"/>. Each entry is
    /// checked and removed in one atomic step with its current versions, so an entry written under them meanwhile is kept;
    /// leases, versions, sequences and dependency indexes are never removed. Audited like a purge, before it starts and
    /// when it ends. <see cref="OrphanCleanupOptions.MaxOrphans"/> and the job's interval do not apply: it runs now.
    /// </summary>
    /// <param name="actor">Who asks (a user or service name), for the audit.</param>
    /// <param name="reason">Why, for the audit.</param>
    /// <param name="options">Threshold and pace; the cache's <see cref="SmartCacheOptions.Orphans"/> when null.</param>
    /// <param name="cancellationToken">Stops the cleanup between batches (the audit shows how far it got).</param>
    /// <exception cref="ArgumentException"><paramref name="actor"/> or <paramref name="reason"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="options"/> holds an invalid value; the message names it.</exception>
    /// <exception cref="CacheStoreException">Redis failed, possibly part-way.</exception>
    ValueTask<OrphanReport> RemoveOrphansAsync(string actor, string reason, OrphanCleanupOptions? options = null, CancellationToken cancellationToken = default);
}
