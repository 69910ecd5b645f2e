using CacheInvalidation.Policy;

namespace CacheInvalidation;

/// <summary>
/// The in-process tier in front of Redis. A node serves an entry from its memory only while it can prove that it has
/// applied every invalidation committed up to the entry's data class's stale budget ago: invalidations are announced on
/// each shard's channel (sharded pub/sub) and numbered by a sequence that advances in the same atomic step, which the node
/// reads every <see cref="ConfirmationInterval"/>; a lost message is noticed there, a lost connection distrusts
/// everything, and Redis unreachable for longer than the budget stops local service. Local hits return the same instance
/// to every caller: treat cached values as immutable.
/// </summary>
public sealed class LocalCacheOptions
{
    /// <summary>
    /// Whether the tier is on; default true. It serves only the <see cref="DataClasses"/> whose policy has a stale budget
    /// above zero — staleness the application already accepts for them, now bounded across nodes as well.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The data classes that may be served from memory; default Important and BestEffort. A class whose policy has no
    /// stale budget (Critical, by default) is never served from memory, listed here or not.
    /// </summary>
    public ISet<DataClass> DataClasses { get; } = new HashSet<DataClass> { DataClass.Important, DataClass.BestEffort };

    /// <summary>How many entries the tier holds (least recently used go first); default 10,000, at least 3.</summary>
    public int MaxEntries { get; set; } = 10_000;

    /// <summary>
    /// How often the node reads the shards' invalidation sequences to confirm it missed nothing; default (null) a quarter
    /// of the smallest stale budget of the <see cref="DataClasses"/>, at most 1 s and at least 10 ms. Must be below that
    /// budget, or nothing could be served from memory.
    /// </summary>
    public TimeSpan? ConfirmationInterval { get; set; }

    /// <summary>The interval in effect: <see cref="ConfirmationInterval"/>, or the default for <paramref name="smallestBudget"/>.</summary>
    internal TimeSpan EffectiveConfirmationInterval(TimeSpan smallestBudget)
    {
        if (ConfirmationInterval is { } interval)
        {
            return interval;
        }

        TimeSpan quarter = smallestBudget / 4;
        return quarter > TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : quarter < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : quarter;
    }
}
