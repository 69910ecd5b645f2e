using CacheInvalidation.Freshness;
using CacheInvalidation.Keys;
using CacheInvalidation.Policy;

namespace CacheInvalidation;

/// <summary>
/// Freshness verification: how to load the source-of-truth value of a cached entry (per namespace), how often the
/// continuous sampler compares a random cached entry with it, and when a divergence is reported. Registered with
/// <c>AddSmartCache(…).AddFreshnessVerification(o => …)</c>; see <see cref="ICacheFreshnessVerifier"/>.
/// </summary>
public sealed class FreshnessOptions
{
    private readonly Dictionary<string, SourceRegistration> _sources = new(StringComparer.Ordinal);

    /// <summary>
    /// Entries the continuous sampler verifies per second on each node (default 1); 0 turns it off, leaving
    /// <see cref="ICacheFreshnessVerifier.VerifyAsync"/> on demand. Each sample costs one Redis read and one source load
    /// (two of each when it diverged), plus a share of the key scan that draws the samples.
    /// </summary>
    public double SamplesPerSecond { get; set; } = 1;

    /// <summary>How many entries the continuous sampler draws at a time, and reports on as one sample (default 300).</summary>
    public int ContinuousSampleSize { get; set; } = 300;

    /// <summary>
    /// How long a divergent entry is left before it is looked at again (default 1 s): one that was being invalidated (an
    /// event in flight, a write in progress) has settled by then and is not counted as divergent. Set it above the event
    /// lag you expect, and above the staleness budget of the data you verify.
    /// </summary>
    public TimeSpan RecheckDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The share of divergent entries (the estimate of a verification) above which it is reported: a warning log, the
    /// report's <see cref="FreshnessReport.ThresholdExceeded"/> and a degraded health check. Default 0.001 (0.1%).
    /// </summary>
    public double DivergenceThreshold { get; set; } = 0.001;

    /// <summary>Whether a confirmed divergent entry is invalidated (by key) when found; default false (report only).</summary>
    public bool InvalidateDivergent { get; set; }

    /// <summary>How many entries an on-demand verification checks at once (default 16).</summary>
    public int MaxConcurrency { get; set; } = 16;

    internal IReadOnlyDictionary<string, SourceRegistration> Sources => _sources;

    /// <summary>
    /// How to load the source-of-truth value of the entries of <paramref name="namespace"/> (exactly that namespace). The
    /// cached value and the source's are compared through the cache's serializer (equal bytes), or with
    /// <paramref name="comparer"/> when given. A null source value (the row is gone) is a divergence.
    /// </summary>
    /// <param name="namespace">The namespace of the keys, e.g. <c>"product"</c> for <c>CacheKey.Entity("product", 42)</c>.</param>
    /// <param name="load">Loads the current value for a key (a repository call).</param>
    /// <param name="dataClass">The data class the namespace's entries are cached as (for the per-class report).</param>
    /// <param name="comparer">Compares cached and source values; by default, their serialized bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="namespace"/> is not a valid namespace, or has a source already.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="load"/> is null.</exception>
    public FreshnessOptions Source<T>(string @namespace, Func<CacheKey, CancellationToken, Task<T?>> load, DataClass dataClass = DataClass.Important, IEqualityComparer<T>? comparer = null)
    {
        ArgumentNullException.ThrowIfNull(load);
        return Source<T>(@namespace, (_, key, ct) => load(key, ct), dataClass, comparer);
    }

    /// <summary>
    /// As <see cref="Source{T}(string, Func{CacheKey, CancellationToken, Task{T}}, DataClass, IEqualityComparer{T})"/>,
    /// for a loader that needs services: it gets the provider of a scope created for each comparison (a scoped
    /// <c>DbContext</c>, for instance).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="namespace"/> is not a valid namespace, or has a source already.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="load"/> is null.</exception>
    public FreshnessOptions Source<T>(string @namespace, Func<IServiceProvider, CacheKey, CancellationToken, Task<T?>> load, DataClass dataClass = DataClass.Important, IEqualityComparer<T>? comparer = null)
    {
        ArgumentNullException.ThrowIfNull(load);
        _ = CacheKey.Create(@namespace, "x"); // validates the namespace, naming the argument
        if (!Enum.IsDefined(dataClass))
        {
            throw new ArgumentOutOfRangeException(nameof(dataClass), dataClass, "Not a data class.");
        }

        if (!_sources.TryAdd(@namespace, new SourceRegistration<T>(dataClass, load, comparer)))
        {
            throw new ArgumentException($"The namespace '{@namespace}' has a source already.", nameof(@namespace));
        }

        return this;
    }

    /// <summary>The problems of these options, each naming the option; empty when valid.</summary>
    internal IEnumerable<string> Validate()
    {
        if (!(SamplesPerSecond >= 0 && SamplesPerSecond <= 10_000))
        {
            yield return $"{nameof(FreshnessOptions)}.{nameof(SamplesPerSecond)} must be between 0 and 10000; it is {SamplesPerSecond}.";
        }

        if (ContinuousSampleSize < 1)
        {
            yield return $"{nameof(FreshnessOptions)}.{nameof(ContinuousSampleSize)} must be at least 1; it is {ContinuousSampleSize}.";
        }

        if (RecheckDelay < TimeSpan.Zero || RecheckDelay > TimeSpan.FromHours(1))
        {
            yield return $"{nameof(FreshnessOptions)}.{nameof(RecheckDelay)} must be between 0 and an hour; it is {RecheckDelay}.";
        }

        if (!(DivergenceThreshold >= 0 && DivergenceThreshold <= 1))
        {
            yield return $"{nameof(FreshnessOptions)}.{nameof(DivergenceThreshold)} must be between 0 and 1; it is {DivergenceThreshold}.";
        }

        if (MaxConcurrency < 1)
        {
            yield return $"{nameof(FreshnessOptions)}.{nameof(MaxConcurrency)} must be at least 1; it is {MaxConcurrency}.";
        }

        if (_sources.Count == 0)
        {
            yield return $"{nameof(FreshnessOptions)} names no source: call {nameof(Source)}<T>(namespace, load) for each namespace to verify.";
        }
    }
}
