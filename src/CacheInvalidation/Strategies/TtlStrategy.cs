using CacheInvalidation.Policy;

namespace CacheInvalidation.Strategies;

/// <summary>
/// The TTL strategy: picks each entry's TTL from its options, content type, data class or the default, and subtracts
/// uniform random jitter so that entries written together do not expire together — never adding to the TTL. The data
/// class's policy adds the stale budget: how long after the TTL the entry may still be served while it is refreshed.
/// </summary>
internal sealed class TtlStrategy(SmartCacheOptions options, TimeProvider time, Random random)
{
    private static readonly TimeSpan MinimumTtl = TimeSpan.FromMilliseconds(1);

    public TtlStrategy(SmartCacheOptions options, TimeProvider time)
        : this(options, time, Random.Shared)
    {
    }

    public TtlDecision Decide(CacheEntryOptions? entry)
    {
        DataClass dataClass = entry?.DataClass ?? DataClass.Important;
        TtlDecision decision = DecideTtl(entry) with { Class = dataClass };
        if (!decision.Cache || decision.StaleBudget <= TimeSpan.Zero || !options.LocalCache.Enabled
            || !options.LocalCache.DataClasses.Contains(dataClass))
        {
            return decision;
        }

        return decision with { LocalBudget = decision.StaleBudget };
    }

    private TtlDecision DecideTtl(CacheEntryOptions? entry)
    {
        CachePolicy? classPolicy = options.Policies.TryGetValue(entry?.DataClass ?? DataClass.Important, out CachePolicy? p) ? p : null;
        if (classPolicy is { IsCached: false })
        {
            return TtlDecision.NotCached;
        }

        TimeSpan budget = classPolicy?.StaleBudget ?? TimeSpan.Zero;

        if (entry is null)
        {
            return new(true, Jittered(options.DefaultTtl, null), budget);
        }

        if (entry.NeverExpire)
        {
            return new(true, null, budget);
        }

        if (entry.AbsoluteExpiration is { } expiresAt)
        {
            TimeSpan remaining = expiresAt - time.GetUtcNow();
            return remaining >= MinimumTtl ? new(true, remaining, budget) : TtlDecision.NotCached;
        }

        if (entry.Ttl is { } ttl)
        {
            return new(true, Jittered(ttl, entry.Jitter), budget);
        }

        CachePolicy? policy = null;
        if (entry.ContentType is { } contentType)
        {
            options.ContentTypePolicies.TryGetValue(contentType, out policy);
        }

        policy ??= entry.DataClass is null ? null : classPolicy;
        return policy switch
        {
            null => new(true, Jittered(options.DefaultTtl, entry.Jitter), budget),
            { IsCached: false } => TtlDecision.NotCached,
            { TimeToLive: null } => new(true, null, budget),
            { TimeToLive: { } policyTtl } => new(true, Jittered(policyTtl, entry.Jitter ?? policy.Jitter), budget),
        };
    }

    private TimeSpan Jittered(TimeSpan ttl, TimeSpan? jitter)
    {
        TimeSpan spread = jitter ?? ttl * options.JitterFraction;
        if (spread >= ttl)
        {
            throw new ArgumentOutOfRangeException(nameof(jitter), spread, $"The jitter (CacheEntryOptions.Jitter or CachePolicy.Jitter) must be less than the TTL ({ttl}).");
        }

        if (spread <= TimeSpan.Zero)
        {
            return ttl;
        }

        TimeSpan jittered = ttl - (spread * random.NextDouble());
        return jittered < MinimumTtl ? MinimumTtl : jittered;
    }
}
