using CacheInvalidation.Client;

namespace CacheInvalidation;

/// <summary>
/// Operations that reach beyond one tenant, or the server itself. Every purge is audited — a structured log entry and
/// a record in the prefix's audit stream, with actor, reason and scope — before it acts, and again when it is done.
/// </summary>
public interface ISmartCacheAdministration
{
    /// <summary>Deletes every key of one tenant (entries, versions, leases, dependency indexes).</summary>
    /// <param name="tenant">The tenant; a valid key part (no wildcard can be smuggled in).</param>
    /// <param name="actor">Who asks (a user or service name), for the audit.</param>
    /// <param name="reason">Why, for the audit.</param>
    /// <param name="cancellationToken">Stops the scan between batches (the audit shows how far it got).</param>
    /// <exception cref="ArgumentException">An argument is empty or the tenant is not a valid key part.</exception>
    /// <exception cref="CacheStoreException">Redis failed, possibly part-way; the audit stream shows the start.</exception>
    ValueTask<PurgeReport> PurgeTenantAsync(string tenant, string actor, string reason, CancellationToken cancellationToken = default);

    /// <summary>Deletes every key under the key prefix, for all tenants.</summary>
    /// <exception cref="ArgumentException"><paramref name="actor"/> or <paramref name="reason"/> is empty.</exception>
    /// <exception cref="CacheStoreException">Redis failed, possibly part-way.</exception>
    ValueTask<PurgeReport> PurgeAllTenantsAsync(string actor, string reason, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads <c>maxmemory</c> and <c>maxmemory-policy</c>, applies the configured values when
    /// <see cref="MemoryPolicyOptions.Apply"/> is set, and reports what cannot work. Never throws for a server where
    /// CONFIG is unavailable: that is a warning in the report.
    /// </summary>
    ValueTask<MemoryPolicyReport> InspectMemoryPolicyAsync(CancellationToken cancellationToken = default);
}
