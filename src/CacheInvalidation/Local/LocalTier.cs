using BitFaster.Caching.Lru;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using Microsoft.Extensions.Logging;

namespace CacheInvalidation.Local;

/// <summary>
/// The in-process tier: a bounded LRU of values (BitFaster.Caching's <c>ConcurrentLru</c>: a hit is a lock-free lookup
/// that allocates nothing) in front of Redis. An entry is served only while it is fresh, its scope was not voided since
/// it was inserted, and its shard is confirmed within the entry's budget (<see cref="LocalShard"/>). Values enter only
/// from a current Redis read or a write Redis accepted, and only if nothing of their shard changed since that read began.
/// </summary>
internal sealed class LocalTier : IInvalidationListener, IDisposable
{
    private readonly FastConcurrentLru<LocalKey, LocalEntry> _entries;
    private readonly LocalSync _sync;
    private readonly TimeProvider _time;
    private readonly Func<int> _count;
    private readonly CacheMetrics _metrics;

    public LocalTier(LocalCacheOptions options, TimeSpan confirmationInterval, IInvalidationFeed feed, TimeProvider time, ILogger logger, CacheMetrics metrics)
    {
        _metrics = metrics;
        _entries = new FastConcurrentLru<LocalKey, LocalEntry>(Environment.ProcessorCount, options.MaxEntries, EqualityComparer<LocalKey>.Default);
        _time = time;
        _sync = new LocalSync(feed, confirmationInterval, time, logger, ApplyAnnounced, metrics);
        feed.Listen(this);
        _count = () => _entries.Count;
        metrics.ObserveLocal(_sync.ConfirmationAge, _count);
    }

    /// <summary>
    /// The value of <paramref name="key"/> if the tier may serve it now to a caller whose data class allows
    /// <paramref name="callerBudget"/> (null: the budget the entry was inserted with).
    /// </summary>
    public bool TryGet<T>(string tenant, CacheKey key, TimeSpan? callerBudget, out T value)
    {
        if (_entries.TryGet(new LocalKey(tenant, key), out LocalEntry? entry)
            && entry.IsServable(_time.GetTimestamp(), callerBudget is { } budget ? Ticks(budget) : long.MaxValue))
        {
            if (entry.Value is T typed)
            {
                value = typed;
                return true;
            }

            if (entry.Value is null && default(T) is null)
            {
                value = default!;
                return true;
            }
        }

        value = default!;
        return false;
    }

    /// <summary>Taken before a read of Redis whose value may be inserted; null when the tenant is not held in memory.</summary>
    public LocalGuard? Capture(KeyLayout layout, VersionScope scope)
    {
        if (_sync.Shards(layout) is null || _sync.Shard(scope.Tag) is not { } shard)
        {
            return null;
        }

        return shard.Capture(shard.Scope(scope));
    }

    /// <summary>
    /// Inserts a value read from, or accepted by, Redis — fresh until <paramref name="freshUntilUnixMs"/> — unless anything
    /// of its shard changed since <paramref name="guard"/> was taken.
    /// </summary>
    public void Insert<T>(LocalGuard guard, CacheKey key, T value, long freshUntilUnixMs, TimeSpan budget)
    {
        long remainingMs = freshUntilUnixMs == long.MaxValue ? long.MaxValue : freshUntilUnixMs - _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (remainingMs <= 0)
        {
            return;
        }

        long now = _time.GetTimestamp();
        long frequency = _time.TimestampFrequency;
        long expiresAt = remainingMs >= long.MaxValue / frequency / 2 ? long.MaxValue : now + (remainingMs * frequency / 1000);
        var entry = new LocalEntry(value, guard.Scope, guard.Epoch, expiresAt, Ticks(budget));
        LocalShard shard = guard.Scope.Shard;
        if (!shard.InsertIfUnchanged(guard, (Entries: _entries, Key: new LocalKey(shard.Tenant, key), Entry: entry), static s => s.Entries.AddOrUpdate(s.Key, s.Entry)))
        {
            _metrics.LocalInsertRefused();
        }
    }

    private long Ticks(TimeSpan budget) => (long)(budget.TotalSeconds * _time.TimestampFrequency);

    /// <summary>One confirmation round now (tests: everything missed so far is flushed when it returns).</summary>
    public Task ConfirmAsync(CancellationToken cancellationToken) => _sync.ConfirmAsync(cancellationToken);

    /// <summary>This node deleted or replaced entries: they leave memory at once (their message follows).</summary>
    public void EntriesRemoved(IReadOnlyList<string> entryKeys)
    {
        foreach (IGrouping<string, string> group in entryKeys.GroupBy(KeyLayout.TagOf, StringComparer.Ordinal))
        {
            if (_sync.Shard(group.Key) is { } shard)
            {
                shard.ApplyOwn((Tier: this, Shard: shard, Keys: group), static s => s.Tier.Evict(s.Shard, s.Keys));
            }
        }
    }

    /// <summary>This node bumped versions: what it holds under them is void at once.</summary>
    public void VersionsBumped(IReadOnlyList<string> versionKeys)
    {
        foreach (string versionKey in versionKeys)
        {
            if (_sync.Shard(KeyLayout.TagOf(versionKey)) is { } shard)
            {
                shard.ApplyOwn((Shard: shard, Key: versionKey), static s => s.Shard.VoidScopesOf(s.Key));
            }
        }
    }

    /// <summary>Told when a version bump (of a namespace, a tenant, all) is announced: the miss-storm signal's cause.</summary>
    public Action? VersionBumped { get; set; }

    public void Dispose()
    {
        _metrics.StopObservingLocal();
        _sync.Dispose();
        _entries.Clear();
    }

    private void ApplyAnnounced(LocalShard shard, char kind, string[] keys)
    {
        if (kind == 'v')
        {
            VersionBumped?.Invoke();
            foreach (string versionKey in keys)
            {
                shard.VoidScopesOf(versionKey);
            }
        }
        else
        {
            Evict(shard, keys);
        }
    }

    private void Evict(LocalShard shard, IEnumerable<string> entryKeys)
    {
        foreach (string entryKey in entryKeys)
        {
            if (KeyLayout.TryParseEntryKey(entryKey, shard.Tag, out string @namespace, out string id) && _entries.TryRemove(new LocalKey(shard.Tenant, @namespace, id)))
            {
                _metrics.LocalEviction();
            }
        }
    }
}
