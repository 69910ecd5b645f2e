using CacheInvalidation.Diagnostics;

namespace OpenTelemetry.Metrics;

/// <summary>Adds CacheInvalidation's metrics to an OpenTelemetry meter provider.</summary>
public static class CacheInvalidationMeterProviderBuilderExtensions
{
    /// <summary>
    /// Listens to the <c>CacheInvalidation</c> meter: the <c>cacheinvalidation.*</c> counters, gauges and duration
    /// histograms (in seconds), each tagged with <c>cacheinvalidation.cache.name</c>.
    /// </summary>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static MeterProviderBuilder AddCacheInvalidationInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(CacheTelemetry.MeterName);
    }
}
