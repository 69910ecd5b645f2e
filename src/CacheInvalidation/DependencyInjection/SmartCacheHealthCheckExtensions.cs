using CacheInvalidation;
using CacheInvalidation.Client;
using CacheInvalidation.Events;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the cache's health check.</summary>
public static class SmartCacheHealthCheckExtensions
{
    /// <summary>
    /// Adds a health check of a cache registered with <c>AddSmartCache</c>: Redis reachable, circuit breaker closed,
    /// journal empty, and the event consumer's backlog and dead letters under their thresholds (when it runs one).
    /// </summary>
    /// <param name="builder">The health checks builder (<c>services.AddHealthChecks()</c>).</param>
    /// <param name="cacheName">The cache's <c>AddSmartCache</c> name; null for the default cache.</param>
    /// <param name="configure">Changes the thresholds; null keeps the defaults.</param>
    /// <param name="failureStatus">Reported when Redis is unreachable; <see cref="HealthStatus.Unhealthy"/> when null.</param>
    /// <param name="tags">Tags to filter the check with (e.g. "ready").</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="cacheName"/> is empty or white space.</exception>
    public static IHealthChecksBuilder AddSmartCache(
        this IHealthChecksBuilder builder,
        string? cacheName = null,
        Action<SmartCacheHealthCheckOptions>? configure = null,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (cacheName is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(cacheName);
        }

        string key = cacheName ?? SmartCacheBuilder.DefaultName;
        var options = new SmartCacheHealthCheckOptions();
        configure?.Invoke(options);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.Timeout, TimeSpan.Zero, "configure: Timeout");
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxConsumerLag, "configure: MaxConsumerLag");
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxDeadLetters, "configure: MaxDeadLetters");
        return builder.Add(new HealthCheckRegistration(
            cacheName is null ? "smartcache" : "smartcache:" + cacheName,
            sp => new SmartCacheHealthCheck(
                sp.GetRequiredKeyedService<SmartCache>(key),
                sp.GetRequiredKeyedService<RedisConnection>(key),
                sp.GetKeyedService<InvalidationConsumer>(key),
                sp.GetKeyedService<ICacheFreshnessVerifier>(key),
                options),
            failureStatus,
            tags));
    }
}
