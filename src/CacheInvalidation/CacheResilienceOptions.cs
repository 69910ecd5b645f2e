namespace CacheInvalidation;

/// <summary>
/// How the cache behaves when Redis is slow or down: reads give up after a soft timeout and fall back to the source, and
/// a circuit breaker stops sending to Redis after repeated failures, so that nothing waits for a server known to be down,
/// then lets one call through now and then to find out whether it is back.
/// </summary>
public sealed class CacheResilienceOptions
{
    /// <summary>
    /// How long the read of a hit may take before the caller falls back to the source; default 50 ms — a hit takes well
    /// under 1 ms on a healthy network.
    /// </summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How long each Redis call of a miss (taking the lease, registering dependencies, writing the loaded value) may take
    /// before the caller gets its value uncached; default 250 ms. Wider than <see cref="ReadTimeout"/>: giving up on a
    /// lease Redis did grant leaves other callers waiting for it.
    /// </summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The share of failed calls (in <see cref="SamplingDuration"/>) that opens the circuit; default 0.5.</summary>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>How many calls <see cref="SamplingDuration"/> must have seen before the circuit may open; default 10.</summary>
    public int MinimumThroughput { get; set; } = 10;

    /// <summary>The window over which failures are counted; default 5 s.</summary>
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the circuit stays open (no call sent to Redis) before one call probes it; default 2 s.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How many unconfirmed invalidations the process keeps to apply when Redis answers again (default 10,000); past it
    /// they are replaced by a version bump of each tenant concerned, which voids more, never less.
    /// </summary>
    public int JournalCapacity { get; set; } = 10_000;
}
