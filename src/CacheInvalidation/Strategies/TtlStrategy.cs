using CacheInvalidation.Policy;

namespace CacheInvalidation.Strategies;

/// <summary>
/// The TTL strategy: picks each entry's TTL from its options, content type, data class or the default, and subtracts
/// uniform random jitter so that entries written together do not expire together — never adding to the TTL, which is
/// the staleness budget.
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
        CachePolicy? classPolicy = options.Policies.TryGetValue(entry?.DataClass ?? DataClass.Important, out CachePolicy? p) ? p : null;
        if (classPolicy is { IsCached: false })
        {
            return TtlDecision.NotCached;
        }

        if (entry is null)
        {
            return TtlDecision.For(Jittered(options.DefaultTtl, null));
        }

        if (entry.NeverExpire)
        {
            return TtlDecision.For(null);
        }

        if (entry.AbsoluteExpiration is { } expiresAt)
        {
            TimeSpan remaining = expiresAt - time.GetUtcNow();
            return remaining >= MinimumTtl ? TtlDecision.For(remaining) : TtlDecision.NotCached;
        }

        if (entry.Ttl is { } ttl)
        {
            return TtlDecision.For(Jittered(ttl, entry.Jitter));
        }

        CachePolicy? policy = null;
        if (entry.ContentType is { } contentType)
        {
            options.ContentTypePolicies.TryGetValue(contentType, out policy);
        }

        policy ??= entry.DataClass is null ? null : classPolicy;
        return policy switch
        {
            null => TtlDecision.For(Jittered(options.DefaultTtl, entry.Jitter)),
            { IsCached: false } => TtlDecision.NotCached,
            { TimeToLive: null } => TtlDecision.For(null),
            { TimeToLive: { } policyTtl } => TtlDecision.For(Jittered(policyTtl, entry.Jitter ?? policy.Jitter)),
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
