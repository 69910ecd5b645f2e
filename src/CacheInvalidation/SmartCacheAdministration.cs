using System.Globalization;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using CacheInvalidation.Strategies;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CacheInvalidation;

/// <summary>Audited cross-tenant purges and the memory-policy check; registered by <c>AddSmartCache</c>.</summary>
public sealed class SmartCacheAdministration : ISmartCacheAdministration
{
    private const int AuditStreamLength = 10_000;
    private const int PurgeBatch = 500;

    private readonly SmartCacheOptions _options;
    private readonly RedisKeyspace _keyspace;
    private readonly LruConfigStrategy _lru;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    internal SmartCacheAdministration(SmartCacheOptions options, RedisConnection connection, ILogger? logger, TimeProvider? timeProvider)
    {
        _options = options;
        _keyspace = new RedisKeyspace(connection);
        _lru = new LruConfigStrategy(_keyspace, options);
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc/>
    public async ValueTask<PurgeReport> PurgeTenantAsync(string tenant, string actor, string reason, CancellationToken cancellationToken = default)
    {
        KeyPart.Validate(tenant, nameof(tenant));
        ValidateAudit(actor, reason);
        var layout = new KeyLayout(_options.KeyPrefix, tenant, _options.VersionShards);
        return await PurgeAsync("tenant:" + tenant, layout.TenantPatterns(), actor, reason, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<PurgeReport> PurgeAllTenantsAsync(string actor, string reason, CancellationToken cancellationToken = default)
    {
        ValidateAudit(actor, reason);
        return await PurgeAsync("all-tenants", [KeyLayout.PrefixPattern(_options.KeyPrefix)], actor, reason, cancellationToken).ConfigureAwait(false);
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

    private static void ValidateAudit(string actor, string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
    }

    private async Task<PurgeReport> PurgeAsync(string scope, IReadOnlyList<string> patterns, string actor, string reason, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        string stream = KeyLayout.AuditStreamKey(_options.KeyPrefix);

        // The record is written, and must be acknowledged, before anything is deleted.
        string auditId = await _keyspace.AppendToStreamAsync(stream, Record("started", scope, actor, reason, deleted: 0, patterns), AuditStreamLength).ConfigureAwait(false);
        Log.PurgeAudit(_logger, "started", scope, actor, reason, 0, auditId);

        long deleted = 0;
        try
        {
            foreach (string pattern in patterns)
            {
                long before = deleted;
                (_, long removed) = await _keyspace.ScanAndUnlinkAsync(pattern, null, PurgeBatch, static (_, _, _) => Task.CompletedTask, cancellationToken).ConfigureAwait(false);
                deleted = before + removed;
            }
        }
        finally
        {
            string phase = cancellationToken.IsCancellationRequested ? "cancelled" : "completed";
            try
            {
                await _keyspace.AppendToStreamAsync(stream, Record(phase, scope, actor, reason, deleted, patterns), AuditStreamLength).ConfigureAwait(false);
            }
            catch (CacheStoreException ex)
            {
                Log.InvalidationFailed(_logger, "audit", scope, ex);
            }

            Log.PurgeAudit(_logger, phase, scope, actor, reason, deleted, auditId);
        }

        CacheMetrics.Invalidation("purge");
        return new PurgeReport(scope, deleted, auditId);
    }

    private List<KeyValuePair<string, string>> Record(string phase, string scope, string actor, string reason, long deleted, IReadOnlyList<string> patterns) =>
    [
        new("phase", phase),
        new("scope", scope),
        new("actor", actor),
        new("reason", reason),
        new("patterns", string.Join(' ', patterns)),
        new("keys", deleted.ToString(CultureInfo.InvariantCulture)),
        new("time", _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture)),
    ];
}
