namespace CacheInvalidation.Strategies;

/// <summary>Whether to cache an entry and for how long (<see cref="Ttl"/> null: without expiration).</summary>
internal readonly record struct TtlDecision(bool Cache, TimeSpan? Ttl)
{
    public static TtlDecision NotCached => new(false, null);

    public static TtlDecision For(TimeSpan? ttl) => new(true, ttl);
}
