namespace CacheInvalidation;

/// <summary>Thresholds of the cache's health check (<c>AddHealthChecks().AddSmartCache()</c>).</summary>
public sealed class SmartCacheHealthCheckOptions
{
    /// <summary>How long each Redis primary may take to answer PING before the check reports it unreachable. Default 2 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Event-stream entries the cache's consumer group may have outstanding (not yet delivered, or delivered and not
    /// acknowledged) before the check reports <c>Degraded</c>. Default 1,000.
    /// </summary>
    public long MaxConsumerLag { get; set; } = 1_000;

    /// <summary>
    /// Dead-lettered events tolerated before the check reports <c>Degraded</c>. Default 0: every dead letter is an
    /// invalidation that was not applied, so someone should look at it (and trim the dead-letter stream once handled).
    /// </summary>
    public long MaxDeadLetters { get; set; }
}
