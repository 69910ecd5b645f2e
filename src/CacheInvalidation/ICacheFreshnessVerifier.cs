using CacheInvalidation.Client;

namespace CacheInvalidation;

/// <summary>
/// Compares cached entries with their source of truth (registered per namespace in <see cref="FreshnessOptions"/>):
/// continuously at a low rate in the background, and on demand — after a release (a canary) or an incident (a
/// verification over a statistically meaningful sample). Registered by <c>AddSmartCache(…).AddFreshnessVerification(…)</c>,
/// keyed by the cache's name.
/// </summary>
public interface ICacheFreshnessVerifier
{
    /// <summary>The last report, of an on-demand verification or of the continuous sampler; null before the first.</summary>
    FreshnessReport? LastReport { get; }

    /// <summary>
    /// Draws <paramref name="sampleSize"/> entries uniformly at random from the verified namespaces (of the current
    /// tenant), compares each with its source, looks again at those that differ, and reports the divergence with bounds
    /// at <paramref name="confidence"/>. A sample at least as large as the cache verifies every entry.
    /// </summary>
    /// <param name="sampleSize">How many entries to draw (1 to 1,000,000).</param>
    /// <param name="confidence">The confidence level of the bounds, strictly between 0 and 1 (default 0.95).</param>
    /// <param name="cancellationToken">Stops the verification.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sampleSize"/> or <paramref name="confidence"/> is out of range.</exception>
    /// <exception cref="CacheStoreException">Redis failed while drawing the sample.</exception>
    ValueTask<FreshnessReport> VerifyAsync(int sampleSize, double confidence = 0.95, CancellationToken cancellationToken = default);
}
