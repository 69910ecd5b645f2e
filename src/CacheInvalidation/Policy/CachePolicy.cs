namespace CacheInvalidation.Policy;

/// <summary>
/// Whether and how long entries of a data class or content type are cached. The effective TTL of an entry is drawn
/// uniformly from <c>[TimeToLive − Jitter, TimeToLive]</c>, so entries written together do not expire together. After
/// its TTL an entry is stale: it may still be served for <see cref="StaleBudget"/> while one caller refreshes it, and
/// never after that (the key itself expires then). Invalidated entries are never served.
/// </summary>
public sealed record CachePolicy
{
    private CachePolicy(bool isCached, TimeSpan? ttl, TimeSpan? jitter)
    {
        IsCached = isCached;
        TimeToLive = ttl;
        Jitter = jitter;
    }

    /// <summary>Never cache: every read goes to the source (0 s staleness).</summary>
    public static CachePolicy NoCaching { get; } = new(false, null, null);

    /// <summary>Cache without expiration. Only for data invalidated explicitly; use sparingly.</summary>
    public static CachePolicy WithoutExpiration { get; } = new(true, null, null);

    /// <summary>False when entries are not cached at all.</summary>
    public bool IsCached { get; }

    /// <summary>The longest an entry lives; null when it never expires (or is not cached).</summary>
    public TimeSpan? TimeToLive { get; }

    /// <summary>How much shorter than <see cref="TimeToLive"/> an entry may randomly live; null to use the cache's default jitter fraction.</summary>
    public TimeSpan? Jitter { get; }

    /// <summary>
    /// How long after its TTL an expired entry may still be served while one caller refreshes it in the background
    /// (stale-while-revalidate). Zero (the default) never serves an expired entry. Only a data class's policy sets it.
    /// </summary>
    public TimeSpan StaleBudget { get; private init; }

    /// <summary>This policy with a staleness budget (stale-while-revalidate window).</summary>
    /// <param name="budget">Non-negative; zero disables serving stale values.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="budget"/> is negative.</exception>
    public CachePolicy WithStaleBudget(TimeSpan budget)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(budget, TimeSpan.Zero);
        return this with { StaleBudget = budget };
    }

    /// <summary>Cache with a TTL and optional jitter.</summary>
    /// <param name="ttl">The longest an entry lives; must be positive.</param>
    /// <param name="jitter">How much shorter it may randomly live; non-negative and less than <paramref name="ttl"/>.
    /// Null uses the cache's <c>JitterFraction</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="ttl"/> is not positive, or <paramref name="jitter"/> is negative or not less than it.</exception>
    public static CachePolicy Ttl(TimeSpan ttl, TimeSpan? jitter = null)
    {
        ValidateTtl(ttl, jitter, nameof(ttl), nameof(jitter));
        return new(true, ttl, jitter);
    }

    internal static void ValidateTtl(TimeSpan ttl, TimeSpan? jitter, string ttlName, string jitterName)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero, ttlName);
        if (jitter is { } j)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(j, TimeSpan.Zero, jitterName);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(j, ttl, jitterName);
        }
    }
}
