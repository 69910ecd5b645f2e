namespace CacheInvalidation.Diagnostics;

/// <summary>
/// The names under which the library reports: one <see cref="System.Diagnostics.Metrics.Meter"/> and one
/// <see cref="System.Diagnostics.ActivitySource"/>, both named <c>CacheInvalidation</c>. Instruments are named
/// <c>cacheinvalidation.*</c> and their attributes <c>cacheinvalidation.*</c>, so they cannot collide with another
/// library's; every measurement and span carries <see cref="CacheNameAttribute"/>. See docs/observability.md.
/// </summary>
public static class CacheTelemetry
{
    /// <summary>The meter's name, for <c>AddMeter</c> in OpenTelemetry or a <see cref="System.Diagnostics.Metrics.MeterListener"/>.</summary>
    public const string MeterName = "CacheInvalidation";

    /// <summary>The activity source's name, for <c>AddSource</c> in OpenTelemetry or an <see cref="System.Diagnostics.ActivityListener"/>.</summary>
    public const string ActivitySourceName = "CacheInvalidation";

    /// <summary>The attribute naming the cache (its <c>AddSmartCache</c> name; <c>default</c> for the unnamed one).</summary>
    public const string CacheNameAttribute = "cacheinvalidation.cache.name";

    internal static readonly string? Version = typeof(CacheTelemetry).Assembly.GetName().Version?.ToString();
}
