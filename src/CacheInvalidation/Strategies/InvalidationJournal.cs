using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using Microsoft.Extensions.Logging;

namespace CacheInvalidation.Strategies;

/// <summary>What an unconfirmed invalidation targets, kept to be applied once Redis answers again.</summary>
internal enum JournalKind
{
    /// <summary>One key.</summary>
    Key,

    /// <summary>Dependency sources (which entries they reach is known only to Redis: the whole tenant is held back).</summary>
    Sources,

    /// <summary>A namespace and those under it (a version bump; a scan's memory is left to the TTLs).</summary>
    Namespace,

    /// <summary>Every entry of the tenant.</summary>
    All,
}

/// <summary>One unconfirmed invalidation.</summary>
internal sealed record JournalEntry(JournalKind Kind, string Tenant, CacheKey Key = default, string[]? Targets = null)
{
    /// <summary>Whether this invalidation may concern <paramref name="key"/> of <paramref name="tenant"/>.</summary>
    public bool Affects(string tenant, CacheKey key) =>
        Tenant == tenant && Kind switch
        {
            JournalKind.Key => Key == key,
            JournalKind.Namespace => key.Namespace == Targets![0] || key.Namespace.StartsWith(Targets[0] + ":", StringComparison.Ordinal),
            _ => true,
        };
}

/// <summary>
/// The invalidations this process could not confirm (Redis down, slow or refusing), kept in memory and applied, in order,
/// as soon as Redis answers again. Until then reads of what they may concern do not use Redis (they go to the source), so
/// no entry an unconfirmed invalidation targets is served. Bounded: past <see cref="CacheResilienceOptions.JournalCapacity"/>
/// entries, the journal keeps one "everything" invalidation per tenant instead (a version bump: it voids more, never less).
/// In-process: a process that stops loses its journal — the outbox and event path is the durable one.
/// </summary>
internal sealed class InvalidationJournal(int capacity, Func<JournalEntry, Task> apply, TimeProvider time, ILogger logger, CacheMetrics metrics) : IDisposable
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(250);

    private readonly object _gate = new();
    private readonly List<JournalEntry> _entries = [];
    private readonly CancellationTokenSource _stop = new();
    private int _count;
    private bool _replaying;

    /// <summary>How many invalidations wait to be applied.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Whether an unconfirmed invalidation may concern <paramref name="key"/> of <paramref name="tenant"/>; free when none waits.</summary>
    public bool Affects(string tenant, CacheKey key) => Volatile.Read(ref _count) > 0 && AnyAffects(tenant, key);

    /// <remarks>Apart from <see cref="Affects"/>: its closure would otherwise be allocated on every read, journal empty or not.</remarks>
    private bool AnyAffects(string tenant, CacheKey key)
    {
        lock (_gate)
        {
            return _entries.Exists(e => e.Affects(tenant, key));
        }
    }

    /// <summary>Keeps an invalidation Redis did not confirm, and starts applying the journal when Redis answers again.</summary>
    public void Add(JournalEntry entry)
    {
        lock (_gate)
        {
            _entries.Add(entry);
            if (_entries.Count > capacity)
            {
                // Fail safe: a version bump of each tenant concerned voids everything the entries targeted.
                JournalEntry[] everything = _entries.Select(e => e.Tenant).Distinct(StringComparer.Ordinal).Select(t => new JournalEntry(JournalKind.All, t)).ToArray();
                _entries.Clear();
                _entries.AddRange(everything);
                metrics.JournalCollapsed();
                Log.JournalCollapsed(logger, capacity, everything.Length);
            }

            Volatile.Write(ref _count, _entries.Count);
            if (_replaying)
            {
                return;
            }

            _replaying = true;
        }

        _ = ReplayAsync();
    }

    /// <summary>Stops applying the journal (the cache is disposed): what is still in it is lost, as the process's memory would be.</summary>
    public void Dispose() => _stop.Cancel();

    private async Task ReplayAsync()
    {
        CancellationToken stop = _stop.Token;
        while (true)
        {
            try
            {
                await Task.Delay(RetryInterval, time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            JournalEntry[] pending;
            lock (_gate)
            {
                pending = [.. _entries];
            }

            foreach (JournalEntry entry in pending)
            {
                try
                {
                    await apply(entry).ConfigureAwait(false);
                }
                catch (CacheStoreException)
                {
                    break; // still down: try again after the interval, in the same order
                }
#pragma warning disable CA1031 // Nobody awaits the replay: anything else is logged, and the entry stays to be tried again.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    Log.JournalReplayFailed(logger, entry.Kind.ToString(), ex);
                    break;
                }

                metrics.JournalReplayed();
                lock (_gate)
                {
                    _entries.Remove(entry);
                    Volatile.Write(ref _count, _entries.Count);
                }
            }

            lock (_gate)
            {
                if (_entries.Count == 0)
                {
                    _replaying = false;
                    Log.JournalReplayed(logger);
                    return;
                }
            }
        }
    }
}
