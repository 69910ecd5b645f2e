using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using Microsoft.Extensions.Logging;

namespace CacheInvalidation.Strategies;

/// <summary>
/// The dependency-set strategy. An entry derived from sources (<c>product:42</c>, <c>seller:7</c>) is registered in each
/// source's index — under the token of the load that will write it — before its value is computed. Invalidating a
/// source first voids its index in one atomic step (a rename to a snapshot: registrations from then on go to a fresh
/// index), then drains every snapshot of the source completely: each batch's entries are deleted with their leases
/// before the batch leaves the snapshot, so a load registered before the invalidation can no longer write, and an
/// interrupted drain is finished by the next invalidation of the source.
/// </summary>
internal sealed class DependencySetStrategy(ISourceIndexStore store, ILogger logger)
{
    /// <summary>Members deleted per script call: each call stays short.</summary>
    internal const int Batch = 250;

    private const int PrunePage = 100;

    // Where the last pruning pass of each index stopped, so the next one goes on from there instead of re-reading the
    // live members at the start of the index.
    private readonly BoundedCache<string, long> _pruneCursors = new(10_000);
    private int _registrations;

    /// <summary>Registers an entry in its sources' indexes under the token of the load (or set) that will write it.</summary>
    public async Task RegisterAsync(IReadOnlyList<string> indexKeys, string entryKey, string token, TimeSpan ttl, CancellationToken cancellationToken)
    {
        await store.RegisterAsync(indexKeys, entryKey, token, ttl, cancellationToken).ConfigureAwait(false);

        // A dependent that expires stays in its index until the index expires or an invalidation drains it: every 32nd
        // registration prunes one page of one index in the background, going on where the last one stopped. Counted,
        // not drawn at random, so what a given write costs is predictable.
        if (Interlocked.Increment(ref _registrations) % 32 == 0)
        {
            _ = PruneInBackgroundAsync(indexKeys[Random.Shared.Next(indexKeys.Count)]);
        }
    }

    /// <summary>Voids and drains the indexes of <paramref name="sources"/>; returns how many entries were removed.</summary>
    public async Task<long> InvalidateAsync(IEnumerable<SourceKeys> sources, CancellationToken cancellationToken)
    {
        long[] removed = await Task.WhenAll(sources.Select(source => InvalidateAsync(source, cancellationToken))).ConfigureAwait(false);
        return removed.Sum();
    }

    /// <summary>Voids one source's index and drains every snapshot it has; returns how many entries were removed.</summary>
    public async Task<long> InvalidateAsync(SourceKeys source, CancellationToken cancellationToken)
    {
        long removed = 0;
        foreach (string snapshot in await store.SnapshotAsync(source, cancellationToken).ConfigureAwait(false))
        {
            string[] drained = [];
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                string[] members = await store.DrainStepAsync(source, snapshot, drained, Batch, cancellationToken).ConfigureAwait(false);
                if (members.Length == 0)
                {
                    break;
                }

                removed += await store.DeleteEntriesAsync(members, cancellationToken).ConfigureAwait(false);
                drained = members;
            }
        }

        return removed;
    }

    /// <summary>
    /// One pruning step of <paramref name="indexKey"/>, from where the last one stopped: removes members whose entry and
    /// lease are both gone (expired or evicted) and that were not registered again meanwhile. Returns how many it removed
    /// and whether it reached the end of the index.
    /// </summary>
    public async Task<(long Pruned, bool Done)> PruneStepAsync(string indexKey, CancellationToken cancellationToken)
    {
        long cursor = _pruneCursors.TryGetValue(indexKey, out long saved) ? saved : 0;
        (long next, IReadOnlyList<(string Member, string Token)> page, _) = await store.PruneStepAsync(indexKey, cursor, PrunePage, [], cancellationToken).ConfigureAwait(false);
        long pruned = 0;
        if (page.Count > 0)
        {
            bool[] gone = await store.AreGoneAsync(page.Select(p => p.Member).ToArray(), cancellationToken).ConfigureAwait(false);
            (string, string)[] dead = page.Where((_, i) => gone[i]).ToArray();
            if (dead.Length > 0)
            {
                // Gone from Redis is not gone from every node's memory: they are announced as removed (the same script as
                // an invalidation's) before they leave the index, or a later invalidation of the source could not name them.
                await store.DeleteEntriesAsync(dead.Select(d => d.Item1).ToArray(), cancellationToken).ConfigureAwait(false);
                (_, _, pruned) = await store.PruneStepAsync(indexKey, null, 0, dead, cancellationToken).ConfigureAwait(false);
            }
        }

        if (next == 0)
        {
            _pruneCursors.Remove(indexKey);
        }
        else
        {
            _pruneCursors.Set(indexKey, next);
        }

        return (pruned, next == 0);
    }

    private async Task PruneInBackgroundAsync(string indexKey)
    {
        try
        {
            await PruneStepAsync(indexKey, CancellationToken.None).ConfigureAwait(false);
        }
        catch (CacheStoreException ex)
        {
            Log.PruneFailed(logger, indexKey, ex);
        }
    }

    /// <summary>A whole pruning pass over <paramref name="indexKey"/>; returns how many members it removed.</summary>
    public async Task<long> PruneAsync(string indexKey, CancellationToken cancellationToken)
    {
        _pruneCursors.Remove(indexKey);
        long pruned = 0;
        while (true)
        {
            (long step, bool done) = await PruneStepAsync(indexKey, cancellationToken).ConfigureAwait(false);
            pruned += step;
            if (done)
            {
                return pruned;
            }
        }
    }

    /// <summary>The index keys of the sources an entry's options name; null for none.</summary>
    /// <exception cref="ArgumentException">A source is not a valid name, or the entry would not expire (named <c>options</c>).</exception>
    public static string[]? IndexKeys(KeyLayout layout, CacheEntryOptions? options, TtlDecision decision)
    {
        if (options?.DependsOn is not { Count: > 0 } sources)
        {
            return null;
        }

        ThrowIfNotExpiring(options, decision);
        return sources.Select(s => layout.Source(s).Index).Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>An entry with DependsOn must expire (checked on a hit from memory as on a miss). Returns true.</summary>
    /// <exception cref="ArgumentException">It would not (named <c>options</c>).</exception>
    public static bool ThrowIfNotExpiring(CacheEntryOptions? options, TtlDecision decision)
    {
        if (decision.PhysicalTtl is null && options?.DependsOn is { Count: > 0 })
        {
            throw new ArgumentException("An entry with DependsOn must expire: its dependency indexes need a TTL at least as long as the entry's.", nameof(options));
        }

        return true;
    }
}
