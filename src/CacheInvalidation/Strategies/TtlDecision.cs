using CacheInvalidation.Policy;

namespace CacheInvalidation.Strategies;

/// <summary>
/// Whether to cache an entry, how long it is fresh (<see cref="Ttl"/> null: forever) and how long after that it may
/// still be served stale while being refreshed; <see cref="LocalBudget"/> above zero: the entry may be served from the
/// node's memory while the node can prove it missed no invalidation older than that. <see cref="Class"/> is the entry's data
/// class, for the freshness figures.
/// </summary>
internal readonly record struct TtlDecision(bool Cache, TimeSpan? Ttl, TimeSpan StaleBudget, TimeSpan LocalBudget = default, DataClass Class = DataClass.Important)
{
    public static TtlDecision NotCached => new(false, null, TimeSpan.Zero);

    /// <summary>Whether the entry may be served from, and put in, the node's memory.</summary>
    public bool IsLocal => LocalBudget > TimeSpan.Zero;

    /// <summary>How long the key lives on the server: fresh time plus the stale budget; null without expiration.</summary>
    public TimeSpan? PhysicalTtl => Ttl + StaleBudget;

    /// <summary>How long a dependency index must live for an entry registered now: its lifetime plus the time until it is written.</summary>
    public TimeSpan IndexTtl(TimeSpan leaseTime) => PhysicalTtl!.Value + leaseTime;
}
