using CacheInvalidation.Client;

namespace CacheInvalidation.Strategies;

/// <summary>
/// Adds up orphan checks into an <see cref="OrphanReport"/>: counts overall and per namespace, the longest remaining
/// lifetime, and the median over a bounded reservoir of lifetimes (a cleanup may find millions of orphans).
/// </summary>
internal sealed class OrphanTally
{
    /// <summary>Namespaces broken down in a report; past that, orphans are counted in the totals only.</summary>
    internal const int MaxNamespaces = 256;

    private const int LifetimeSamples = 4096;

    private readonly Dictionary<string, NamespaceCount> _namespaces = new(StringComparer.Ordinal);
    private readonly List<long> _lifetimes = [];
    private long _lifetimesSeen;

    public long Sampled { get; private set; }

    public long Orphans { get; private set; }

    public long Removed { get; private set; }

    /// <summary>The longest PTTL of an orphan (ms); <see cref="long.MaxValue"/> for one without a TTL; -1 when none.</summary>
    public long MaxLifetime { get; private set; } = -1;

    /// <summary>As <see cref="MaxLifetime"/>, of the orphans left in place.</summary>
    public long MaxKeptLifetime { get; private set; } = -1;

    /// <summary>A lifetime in ms as a report gives it: zero for none (-1), <see cref="TimeSpan.MaxValue"/> for no TTL.</summary>
    public static TimeSpan Lifetime(long milliseconds) =>
        milliseconds switch
        {
            < 0 => TimeSpan.Zero,
            long.MaxValue => TimeSpan.MaxValue,
            _ => TimeSpan.FromMilliseconds(milliseconds),
        };

    public void Add(IReadOnlyList<OrphanCandidate> entries, EntryCheck[] checks)
    {
        for (int i = 0; i < entries.Count; i++)
        {
            Sampled++;
            EntryCheck check = checks[i];
            NamespaceCount? count = CountOf(entries[i].Namespace);
            if (count is not null)
            {
                count.Sampled++;
            }

            if (!check.IsOrphan)
            {
                continue;
            }

            long lifetime = check.TtlMilliseconds < 0 ? long.MaxValue : check.TtlMilliseconds;
            bool removed = check.Status == EntryStatus.Removed;
            Orphans++;
            Removed += removed ? 1 : 0;
            MaxLifetime = Math.Max(MaxLifetime, lifetime);
            MaxKeptLifetime = removed ? MaxKeptLifetime : Math.Max(MaxKeptLifetime, lifetime);
            AddLifetime(lifetime);
            if (count is not null)
            {
                count.Orphans++;
                count.Removed += removed ? 1 : 0;
                count.MaxLifetime = Math.Max(count.MaxLifetime, lifetime);
            }
        }
    }

    /// <summary>
    /// The report. <paramref name="estimate"/> turns a count of orphans (overall or of a namespace) into the report's
    /// estimate: scaled up from a sample, or what a cleanup left in place.
    /// </summary>
    public OrphanReport Report(long scanned, long entries, Func<long, long, long> estimate, TimeSpan elapsed)
    {
        NamespaceOrphans[] namespaces = _namespaces
            .Where(n => n.Value.Orphans > 0)
            .Select(n => new NamespaceOrphans(n.Key, n.Value.Sampled, n.Value.Orphans, estimate(n.Value.Orphans, n.Value.Removed), n.Value.Removed, Lifetime(n.Value.MaxLifetime)))
            .OrderByDescending(n => n.OrphansFound)
            .ThenBy(n => n.Namespace, StringComparer.Ordinal)
            .ToArray();
        return new OrphanReport(scanned, entries, Sampled, Orphans, estimate(Orphans, Removed), Removed, Lifetime(MaxLifetime), Lifetime(Median()), namespaces, elapsed);
    }

    private long Median()
    {
        if (_lifetimes.Count == 0)
        {
            return -1;
        }

        long[] sorted = [.. _lifetimes];
        Array.Sort(sorted);
        return sorted[(sorted.Length - 1) / 2];
    }

    private void AddLifetime(long lifetime)
    {
        // Reservoir sampling (Algorithm R): every lifetime seen has the same chance to be kept.
        _lifetimesSeen++;
        if (_lifetimes.Count < LifetimeSamples)
        {
            _lifetimes.Add(lifetime);
        }
        else if (Random.Shared.NextInt64(_lifetimesSeen) is var slot && slot < LifetimeSamples)
        {
            _lifetimes[(int)slot] = lifetime;
        }
    }

    private NamespaceCount? CountOf(string @namespace)
    {
        if (!_namespaces.TryGetValue(@namespace, out NamespaceCount? count) && _namespaces.Count < MaxNamespaces)
        {
            count = new NamespaceCount();
            _namespaces.Add(@namespace, count);
        }

        return count;
    }

    private sealed class NamespaceCount
    {
        public long Sampled { get; set; }

        public long Orphans { get; set; }

        public long Removed { get; set; }

        public long MaxLifetime { get; set; } = -1;
    }
}
