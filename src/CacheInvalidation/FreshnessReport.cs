using CacheInvalidation.Keys;
using CacheInvalidation.Policy;

namespace CacheInvalidation;

/// <summary>
/// What a freshness verification found: cached entries drawn at random, each compared with its source of truth, and what
/// the sample supports about the whole cache. An entry that differs is looked at again after
/// <see cref="FreshnessOptions.RecheckDelay"/>; only one still serving the same value, still different from its source,
/// counts as <see cref="Divergent"/>.
/// </summary>
public sealed class FreshnessReport
{
    /// <summary>Entry keys of the verified namespaces found by the scan that drew the sample.</summary>
    public long KeysScanned { get; init; }

    /// <summary>Entries drawn.</summary>
    public int Sampled { get; init; }

    /// <summary>Drawn entries that were readable, fresh (not past their TTL) and compared: <see cref="Fresh"/> + <see cref="Divergent"/> + <see cref="Settled"/>.</summary>
    public int Verified { get; init; }

    /// <summary>Entries equal to their source.</summary>
    public int Fresh { get; init; }

    /// <summary>Entries that still served a value different from their source on the second look.</summary>
    public int Divergent { get; init; }

    /// <summary>Entries that differed, then were invalidated or rewritten before the second look (an invalidation in flight).</summary>
    public int Settled { get; init; }

    /// <summary>Entries past their TTL (served only as stale, inside their budget): not compared.</summary>
    public int Expired { get; init; }

    /// <summary>Entries gone, or under an old version (orphans), when read: not compared.</summary>
    public int Unreadable { get; init; }

    /// <summary>Entries whose source or Redis read failed: not compared.</summary>
    public int Errors { get; init; }

    /// <summary>The estimated number of readable, fresh entries in the verified namespaces.</summary>
    public long Population { get; init; }

    /// <summary>The share of divergent entries in the sample: <see cref="Divergent"/> / <see cref="Verified"/> (0 when nothing was verified).</summary>
    public double Estimate { get; init; }

    /// <summary>The lower end of the interval holding the cache's share of divergent entries with <see cref="Confidence"/>.</summary>
    public double LowerBound { get; init; }

    /// <summary>
    /// The upper end of that interval (Wilson score, with the finite-population correction: verifying every entry gives the
    /// exact share). "0 divergent of 3,000" supports at most this share.
    /// </summary>
    public double UpperBound { get; init; }

    /// <summary>The confidence level of the bounds.</summary>
    public double Confidence { get; init; }

    /// <summary>The longest a divergent entry was seen serving its value: from the first look to the second.</summary>
    public TimeSpan OldestDivergence { get; init; }

    /// <summary>The <see cref="FreshnessOptions.DivergenceThreshold"/> the verification was held to.</summary>
    public double Threshold { get; init; }

    /// <summary>Whether <see cref="Estimate"/> is above <see cref="Threshold"/>.</summary>
    public bool ThresholdExceeded { get; init; }

    /// <summary>How many divergent entries were invalidated (<see cref="FreshnessOptions.InvalidateDivergent"/>).</summary>
    public int Invalidated { get; init; }

    /// <summary>The divergent keys (at most 100).</summary>
    public IReadOnlyList<CacheKey> DivergentKeys { get; init; } = [];

    /// <summary>The counts per namespace.</summary>
    public IReadOnlyList<FreshnessNamespaceReport> Namespaces { get; init; } = [];

    /// <summary>When the verification started.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset CompletedAt { get; init; }

    /// <inheritdoc/>
    public override string ToString() =>
        FormattableString.Invariant(
            $"{Divergent} divergent of {Verified} verified ({Sampled} drawn from {KeysScanned} keys; {Settled} settled, {Expired} expired, {Unreadable} unreadable, {Errors} errors): ") +
        FormattableString.Invariant($"{Estimate:P2}, at most {UpperBound:P2} of ~{Population} entries at {Confidence:P0} confidence; oldest divergence seen {OldestDivergence.TotalSeconds:0.#} s");
}

/// <summary>The counts of one namespace in a <see cref="FreshnessReport"/>.</summary>
/// <param name="Namespace">The namespace.</param>
/// <param name="DataClass">The data class its source was registered with.</param>
/// <param name="Verified">Its entries compared.</param>
/// <param name="Divergent">Its entries found divergent.</param>
public sealed record FreshnessNamespaceReport(string Namespace, DataClass DataClass, int Verified, int Divergent);
