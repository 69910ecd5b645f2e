using CacheInvalidation.Diagnostics;

namespace OpenTelemetry.Trace;

/// <summary>Adds CacheInvalidation's spans to an OpenTelemetry tracer provider.</summary>
public static class CacheInvalidationTracerProviderBuilderExtensions
{
    /// <summary>
    /// Listens to the <c>CacheInvalidation</c> activity source: <c>cacheinvalidation.get_or_set</c> (with the read's
    /// result and its Redis steps as events), <c>cacheinvalidation.factory</c>, <c>cacheinvalidation.invalidate</c> and
    /// <c>cacheinvalidation.event.apply</c>.
    /// </summary>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static TracerProviderBuilder AddCacheInvalidationInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(CacheTelemetry.ActivitySourceName);
    }
}
