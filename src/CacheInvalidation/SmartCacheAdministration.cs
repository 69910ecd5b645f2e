using System.Globalization;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using CacheInvalidation.Strategies;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CacheInvalidation;

/// <summary>
/// Audited cross-tenant purges and the memory-policy check; registered by <c>AddSmartCache</c>. A purge follows the rule
/// of every invalidation: it first voids what it concerns (bumps the global versions, so no entry is readable and no
/// load in flight can write), then frees the memory; dependency indexes are drained rather than dropped, so no load that
/// registered in one before the purge can write an entry its index no longer lists. The kill switch, engaged here or by
/// configuration, makes purges refuse (audited) and namespace invalidations skip their scans on every node.
/// </summary>
public sealed class SmartCacheAdministration : ISmartCacheAdministration
{
    private const int AuditStreamLength = 10_000;
    private const int PurgeBatch = 500;

    private readonly SmartCacheOptions _options;
    private readonly RedisKeyspace _keyspace;
    private readonly VersionTagStrategy _versions;
    private readonly LayoutGuard _layoutGuard;
    private readonly DependencySetStrategy _dependencies;
    private readonly LruConfigStrategy _lru;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Action? _afterPurge;
    private readonly CacheMetrics _metrics;
    private readonly KillSwitch _killSwitch;
    private readonly OrphanCleanupStrategy _orphans;

    /// <param name="options">The cache's options (prefix, shards, lease time).</param>
    /// <param name="connection">The cache's connection.</param>
    /// <param name="logger">Receives the audit and memory-policy messages.</param>
    /// <param name="timeProvider">The clock of the audit records.</param>
    /// <param name="afterPurge">Run after every purge: the cache of this process detaches its loads in flight.</param>
    /// <param name="suspendedByOptions">Reads the configured kill switch at run time; by default <see cref="SmartCacheOptions.SuspendAggressiveInvalidation"/> of <paramref name="options"/>.</param>
    internal SmartCacheAdministration(SmartCacheOptions options, RedisConnection connection, ILogger? logger, TimeProvider? timeProvider, Action? afterPurge = null, Func<bool>? suspendedByOptions = null)
    {
        _afterPurge = afterPurge;
        _metrics = connection.Resilience.Metrics;
        _options = options;
        _keyspace = new RedisKeyspace(connection);
        var store = new RedisCacheStore(connection, options.LeaseTime, connection.Resilience.Reads, connection.Resilience.Operations);
        _versions = new VersionTagStrategy(store);
        _layoutGuard = new LayoutGuard(store, options.KeyPrefix, options.VersionShards);
        _logger = logger ?? NullLogger.Instance;
        _dependencies = new DependencySetStrategy(new RedisSourceIndexStore(connection, connection.Resilience.Operations), _logger);
        _lru = new LruConfigStrategy(_keyspace, options);
        _time = timeProvider ?? TimeProvider.System;
        _killSwitch = new KillSwitch(_keyspace, options.KeyPrefix, suspendedByOptions ?? (() => options.SuspendAggressiveInvalidation), _metrics, _time);
        _orphans = new OrphanCleanupStrategy(_keyspace, new RedisOrphanStore(connection), _time, _metrics);
    }

    /// <inheritdoc/>
    public async ValueTask<PurgeReport> PurgeTenantAsync(string tenant, string actor, string reason, CancellationToken cancellationToken = default)
    {
        KeyPart.Validate(tenant, nameof(tenant));
        ValidateAudit(actor, reason);
        var layout = new KeyLayout(_options.KeyPrefix, tenant, _options.VersionShards);
        async Task VoidTenantAsync(CancellationToken token)
        {
            // Bumping the versions of another layout's shards would void nothing: refuse instead.
            await _layoutGuard.ThrowIfMismatchedAsync(token).ConfigureAwait(false);
            await _versions.BumpGlobalAsync(layout, token).ConfigureAwait(false);
        }

        return await PurgeAsync("tenant:" + tenant, layout.TenantPattern(), layout.IsTenantKey, VoidTenantAsync, actor, reason, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<PurgeReport> PurgeAllTenantsAsync(string actor, string reason, CancellationToken cancellationToken = default)
    {
        ValidateAudit(actor, reason);
        string prefix = _options.KeyPrefix;
        Task VoidEveryTenantAsync(CancellationToken token) => _versions.BumpEveryTenantAsync(_keyspace, prefix, token);

        return await PurgeAsync("all-tenants", PrefixKeys.PrefixPattern(prefix), k => PrefixKeys.IsPrefixKey(prefix, k), VoidEveryTenantAsync, actor, reason, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<MemoryPolicyReport> InspectMemoryPolicyAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        MemoryPolicyReport report = await _lru.InspectAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        Log.MemoryPolicyChecked(_logger, report.MaxMemoryBytes, report.EvictionPolicy, report.Applied.Count == 0 ? "nothing" : string.Join(", ", report.Applied));
        foreach (string warning in report.Warnings)
        {
            Log.MemoryPolicyWarning(_logger, warning);
        }

        return report;
    }

    /// <inheritdoc/>
    public ValueTask<AggressiveInvalidationStatus> SuspendAggressiveInvalidationAsync(string actor, string reason, CancellationToken cancellationToken = default) =>
        SetKillSwitchAsync(suspended: true, actor, reason, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<AggressiveInvalidationStatus> ResumeAggressiveInvalidationAsync(string actor, string reason, CancellationToken cancellationToken = default) =>
        SetKillSwitchAsync(suspended: false, actor, reason, cancellationToken);

    /// <inheritdoc/>
    public async ValueTask<AggressiveInvalidationStatus> GetAggressiveInvalidationStatusAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return await _killSwitch.ReadAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<AggressiveInvalidationStatus> SetKillSwitchAsync(bool suspended, string actor, string reason, CancellationToken cancellationToken)
    {
        ValidateAudit(actor, reason);
        cancellationToken.ThrowIfCancellationRequested();
        (AggressiveInvalidationStatus status, string auditId) = await _killSwitch.SetAsync(suspended, actor, reason, cancellationToken).ConfigureAwait(false);
        string state = status.Suspended
            ? status.SuspendedByAdministration ? "suspended" : "still suspended (by configuration)"
            : "resumed";
        Log.KillSwitchAudit(_logger, suspended ? "engaged" : "lifted", _options.KeyPrefix, state, actor, reason, auditId);
        return status;
    }

    /// <summary>
    /// Refuses a purge while the kill switch is engaged: audited (phase <c>refused</c>) and logged before the exception,
    /// so a refused purge is never silently dropped.
    /// </summary>
    private async Task ThrowIfSuspendedAsync(string scope, string pattern, string actor, string reason, CancellationToken cancellationToken)
    {
        if (await _killSwitch.EngagedByAsync(cancellationToken).ConfigureAwait(false) is not { } engagedBy)
        {
            return;
        }

        string auditId = "none";
        try
        {
            List<KeyValuePair<string, string>> record = Record("refused", scope, actor, reason, deleted: 0, pattern);
            record.Add(new("cause", "kill switch engaged by " + engagedBy));
            auditId = await _keyspace.AppendToStreamAsync(PrefixKeys.AuditStreamKey(_options.KeyPrefix), record, AuditStreamLength).ConfigureAwait(false);
        }
        catch (CacheStoreException ex)
        {
            // The purge is refused all the same; the log below is then its only record.
            Log.InvalidationFailed(_logger, "audit", scope, ex);
        }

        Log.PurgeRefused(_logger, scope, actor, reason, engagedBy, auditId);
        _killSwitch.Held(scope.StartsWith("tenant:", StringComparison.Ordinal) ? "purge" : "all-tenants", "refused");
        string lift = engagedBy == KillSwitch.ByOptions
            ? "set SmartCacheOptions.SuspendAggressiveInvalidation to false in the configuration"
            : "call ISmartCacheAdministration.ResumeAggressiveInvalidationAsync(actor, reason)";
        throw new AggressiveInvalidationSuspendedException(
            $"The purge of {scope} was refused: aggressive invalidation is suspended by the kill switch (engaged by {engagedBy} for prefix '{_options.KeyPrefix}'). " +
            $"Nothing was voided or deleted; the refusal is in the audit stream (id {auditId}). To lift the switch, {lift}, then purge again. " +
            "Meanwhile InvalidateAllAsync voids a tenant in O(1) without a scan.");
    }

    /// <inheritdoc/>
    public async ValueTask<OrphanReport> CountOrphansAsync(int sampleSize = 1_000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sampleSize, 1_000_000);
        cancellationToken.ThrowIfCancellationRequested();
        OrphanReport report = await _orphans.CountAsync(TenantLayout(), sampleSize, cancellationToken).ConfigureAwait(false);
        Log.OrphansCounted(_logger, _options.Tenant, report.OrphansFound, report.Sampled, report.Entries, report.EstimatedOrphans, report.MaxRemainingLifetime);
        return report;
    }

    /// <inheritdoc/>
    public async ValueTask<OrphanReport> RemoveOrphansAsync(string actor, string reason, OrphanCleanupOptions? options = null, CancellationToken cancellationToken = default)
    {
        ValidateAudit(actor, reason);
        options ??= _options.Orphans;
        if (options.Failures(nameof(options)) is { Count: > 0 } failures)
        {
            throw new ArgumentOutOfRangeException(nameof(options), string.Join(" ", failures));
        }

        cancellationToken.ThrowIfCancellationRequested();

        // No layout check is needed: each entry is checked against the versions of its own key's shard tag, whatever the
        // number of shards this application is configured with.
        KeyLayout layout = TenantLayout();
        string scope = "orphans:" + layout.Tenant;
        string stream = PrefixKeys.AuditStreamKey(_options.KeyPrefix);
        string auditId = await _keyspace.AppendToStreamAsync(stream, Record("started", scope, actor, reason, deleted: 0, layout.EntryPattern()), AuditStreamLength).ConfigureAwait(false);
        Log.OrphanCleanupAudit(_logger, "started", scope, actor, reason, 0, auditId);
        OrphanReport? report = null;
        long removed = 0;
        try
        {
            report = await _orphans.RemoveAsync(layout, options, total => removed = total, cancellationToken).ConfigureAwait(false);
            return report;
        }
        finally
        {
            string phase = report is not null ? "completed" : cancellationToken.IsCancellationRequested ? "cancelled" : "failed";
            try
            {
                await _keyspace.AppendToStreamAsync(stream, Record(phase, scope, actor, reason, removed, layout.EntryPattern()), AuditStreamLength).ConfigureAwait(false);
            }
            catch (CacheStoreException ex)
            {
                Log.InvalidationFailed(_logger, "audit", scope, ex);
            }

            Log.OrphanCleanupAudit(_logger, phase, scope, actor, reason, removed, auditId);
        }
    }

    private KeyLayout TenantLayout() => new(_options.KeyPrefix, _options.Tenant, _options.VersionShards);

    private static void ValidateAudit(string actor, string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
    }

    private async Task<PurgeReport> PurgeAsync(
        string scope,
        string pattern,
        Func<string, bool> belongs,
        Func<CancellationToken, Task> voidAsync,
        string actor,
        string reason,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await ThrowIfSuspendedAsync(scope, pattern, actor, reason, cancellationToken).ConfigureAwait(false);
        string stream = PrefixKeys.AuditStreamKey(_options.KeyPrefix);

        // The record is written, and must be acknowledged, before anything is voided or deleted.
        string auditId = await _keyspace.AppendToStreamAsync(stream, Record("started", scope, actor, reason, deleted: 0, pattern), AuditStreamLength).ConfigureAwait(false);
        Log.PurgeAudit(_logger, "started", scope, actor, reason, 0, auditId);

        long deleted = 0;
        var drainedSources = new HashSet<string>(StringComparer.Ordinal);
        async Task<long> ReclaimAsync(IReadOnlyList<string> keys, long scanned, long deletedBefore, CancellationToken token)
        {
            // The pattern narrows the scan; `belongs` is the exact rule (never another prefix's or tenant's key).
            var plain = new List<string>(keys.Count);
            long removed = 0;
            foreach (string key in keys.Where(belongs))
            {
                if (KeyLayout.SourceKeysOf(key) is not { } source)
                {
                    plain.Add(key);
                }
                else if (drainedSources.Add(source.Index))
                {
                    // The entries the drain removed; the index, its snapshots and drain list are gone once it is done.
                    removed += await _dependencies.InvalidateAsync(source, token).ConfigureAwait(false);
                }
            }

            removed += await _keyspace.UnlinkAsync(plain, token).ConfigureAwait(false);
            deleted = deletedBefore + removed;
            return removed;
        }

        bool completed = false;
        try
        {
            await voidAsync(cancellationToken).ConfigureAwait(false);
            await _keyspace.ScanAsync(pattern, PurgeBatch, ReclaimAsync, cancellationToken).ConfigureAwait(false);
            completed = true;
        }
        finally
        {
            // Loads this process began before the purge must not be joined by callers that come after it.
            _afterPurge?.Invoke();
            string phase = completed ? "completed" : cancellationToken.IsCancellationRequested ? "cancelled" : "failed";
            try
            {
                await _keyspace.AppendToStreamAsync(stream, Record(phase, scope, actor, reason, deleted, pattern), AuditStreamLength).ConfigureAwait(false);
            }
            catch (CacheStoreException ex)
            {
                Log.InvalidationFailed(_logger, "audit", scope, ex);
            }

            Log.PurgeAudit(_logger, phase, scope, actor, reason, deleted, auditId);
        }

        _metrics.Invalidation("purge");
        return new PurgeReport(scope, deleted, auditId);
    }

    private List<KeyValuePair<string, string>> Record(string phase, string scope, string actor, string reason, long deleted, string pattern) =>
    [
        new("phase", phase),
        new("scope", scope),
        new("actor", actor),
        new("reason", reason),
        new("patterns", pattern),
        new("keys", deleted.ToString(CultureInfo.InvariantCulture)),
        new("time", _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture)),
    ];
}
