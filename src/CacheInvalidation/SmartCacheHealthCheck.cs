using CacheInvalidation.Client;
using CacheInvalidation.Events;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CacheInvalidation;

/// <summary>
/// The cache's health: Redis reachable (every primary answers PING), the circuit breaker closed, no invalidation waiting
/// in the journal, when the cache runs an event consumer its backlog and dead letters under their thresholds, and when it
/// verifies freshness the last verification's divergence under its threshold.
/// Unreachable Redis reports the registration's failure status; the rest, in which the application keeps working on
/// documented fallbacks, <see cref="HealthStatus.Degraded"/>.
/// </summary>
internal sealed class SmartCacheHealthCheck(
    SmartCache cache,
    RedisConnection connection,
    InvalidationConsumer? consumer,
    ICacheFreshnessVerifier? freshness,
    SmartCacheHealthCheckOptions options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var problems = new List<string>();

        (TimeSpan slowest, string? failure) = await connection.PingPrimariesAsync(options.Timeout, cancellationToken).ConfigureAwait(false);
        data["redis.ping.seconds"] = slowest.TotalSeconds;
        if (failure is not null)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "Redis is unreachable (" + failure + "); reads are served from the source.", data: data);
        }

        bool circuitOpen = connection.Resilience.Breaker.IsOpen;
        data["circuit.open"] = circuitOpen;
        if (circuitOpen)
        {
            problems.Add("the circuit breaker is open: reads go to the source, writes and invalidations fail at once");
        }

        int journaled = cache.PendingInvalidations;
        data["invalidations.pending"] = journaled;
        if (journaled > 0)
        {
            problems.Add($"{journaled} invalidation(s) wait in the journal for Redis to confirm them");
        }

        if (consumer is not null)
        {
            try
            {
                (long? lag, long pending, long deadLetters) = await consumer.BacklogAsync().WaitAsync(options.Timeout, cancellationToken).ConfigureAwait(false);
                long backlog = (lag ?? 0) + pending;
                data["events.lag"] = lag ?? -1;
                data["events.pending"] = pending;
                data["events.dead_letters"] = deadLetters;
                if (backlog > options.MaxConsumerLag)
                {
                    problems.Add($"the event consumer is {backlog} entries behind (threshold {options.MaxConsumerLag})");
                }

                if (deadLetters > options.MaxDeadLetters)
                {
                    problems.Add($"{deadLetters} event(s) were dead-lettered: those invalidations were not applied");
                }
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is CacheStoreException or TimeoutException)
            {
                problems.Add("the event stream could not be read: " + ex.Message);
            }
        }

        if (freshness?.LastReport is { } report)
        {
            data["freshness.divergence"] = report.Estimate;
            if (report.ThresholdExceeded)
            {
                problems.Add($"freshness verification found {report.Estimate:P2} of entries diverging from their source (threshold {report.Threshold:P2})");
            }
        }

        return problems.Count == 0
            ? HealthCheckResult.Healthy("Redis answers; nothing waits.", data)
            : HealthCheckResult.Degraded(string.Join("; ", problems) + ".", data: data);
    }
}
