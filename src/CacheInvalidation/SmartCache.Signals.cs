using CacheInvalidation.Client;
using CacheInvalidation.Freshness;
using CacheInvalidation.Keys;
using CacheInvalidation.Policy;
using CacheInvalidation.Strategies;

namespace CacheInvalidation;

// What freshness verification and the deploy signals need from the facade: its stores and layouts, and a word from
// every confirmed invalidation (suspects it voids, broad ones as miss-storm causes, entries removed as churn).
public sealed partial class SmartCache
{
    /// <summary>The key layout of the tenant of the current async flow.</summary>
    internal KeyLayout CurrentLayout => _tenants.Current;

    /// <summary>The entry store (freshness verification reads entries as callers do).</summary>
    internal ICacheStore Store => _store;

    /// <summary>The key scans (freshness verification draws its samples with one).</summary>
    internal IKeyspace Keyspace => _keyspace;

    /// <summary>The serializer of the cached values.</summary>
    internal ICacheSerializer Serializer { get; }

    /// <summary>The reads, stale reads and SLO figures of this cache.</summary>
    internal FreshnessLedger Freshness => _freshness;

    /// <summary>What a confirmed invalidation changes for the freshness figures, the storm signals and the churn.</summary>
    private void Invalidated(JournalEntry entry, long deleted)
    {
        _freshness.Forget(entry);
        if (entry.Kind is not (JournalKind.Key or JournalKind.Sources))
        {
            _storms.BroadInvalidation();
        }

        _metrics.EntriesRemoved(entry.Kind switch { JournalKind.Key => "key", JournalKind.Sources => "source", _ => "namespace" }, deleted);
    }

    private static Func<DataClass, TimeSpan> StaleBudgets(SmartCacheOptions options)
    {
        TimeSpan[] budgets = FreshnessLedger.Classes
            .OrderBy(c => (int)c)
            .Select(c => options.Policies.TryGetValue(c, out CachePolicy? policy) && policy is not null ? policy.StaleBudget : TimeSpan.Zero)
            .ToArray();
        return dataClass => budgets[(int)dataClass];
    }
}
