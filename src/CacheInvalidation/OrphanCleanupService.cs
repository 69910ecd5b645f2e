using System.Globalization;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CacheInvalidation;

/// <summary>
/// The orphan cleanup job (<c>AddOrphanCleanup</c>): every <see cref="OrphanCleanupOptions.Interval"/>, counts the orphans
/// of the cache's tenant from a sample and, when the count calls for it (<see cref="OrphanCleanupOptions.MaxOrphans"/>,
/// <see cref="OrphanCleanupOptions.MaxOrphanLifetime"/>), removes them through the audited
/// <see cref="ISmartCacheAdministration.RemoveOrphansAsync"/>, paced to <see cref="OrphanCleanupOptions.KeysPerSecond"/>.
/// A Redis fault is logged and the job runs again at its next interval: it never stops the host.
/// </summary>
internal sealed class OrphanCleanupService(
    ISmartCacheAdministration administration,
    OrphanCleanupOptions options,
    string tenant,
    TimeProvider time,
    ILogger? logger) : BackgroundService
{
    /// <summary>The actor of the job's audit records.</summary>
    internal const string Actor = "orphan-cleanup-job";

    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Interval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            await RunOnceAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One run: count, then clean if the count calls for it. Returns the cleanup's report, or null when nothing was removed
    /// because the count stayed under the thresholds or Redis failed (logged either way).
    /// </summary>
    internal async Task<OrphanReport?> RunOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            OrphanReport count = await administration.CountOrphansAsync(options.SampleSize, cancellationToken).ConfigureAwait(false);
            if (!options.CallsForCleanup(count))
            {
                Log.OrphansUnderThreshold(_logger, tenant, count.EstimatedOrphans, count.MaxRemainingLifetime);
                return null;
            }

            string reason = string.Create(
                CultureInfo.InvariantCulture,
                $"about {count.EstimatedOrphans} orphans (threshold {(object?)options.MaxOrphans ?? "none"}), the longest living {count.MaxRemainingLifetime} more (threshold {(object?)options.MaxOrphanLifetime ?? "none"})");
            OrphanReport report = await administration.RemoveOrphansAsync(Actor, reason, options, cancellationToken).ConfigureAwait(false);
            Log.OrphansRemoved(_logger, tenant, report.Removed, report.OrphansFound, report.Entries, report.Elapsed);
            return report;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host is stopping; a cleanup cut short is audited as cancelled.
            return null;
        }
        catch (Exception ex) when (ex is CacheStoreException || RedisCall.IsStoreFailure(ex))
        {
            // What StackExchange.Redis throws besides RedisException and TimeoutException (TaskCanceledException and
            // InvalidOperationException on a dropped connection) is covered by IsStoreFailure; the next interval retries.
            Log.OrphanJobFailed(_logger, tenant, ex);
            return null;
        }
    }
}
