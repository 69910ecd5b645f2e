using System.Collections.Concurrent;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using CacheInvalidation.Policy;
using CacheInvalidation.Strategies;

namespace CacheInvalidation.Freshness;

/// <summary>
/// The freshness figures of one cache. It counts reads per data class over a sliding window (<see cref="Buckets"/>
/// buckets, rotated by a timer, so a read costs one increment) and the reads of entries that verification found
/// diverging from their source ("suspects", kept until the entry expires or is invalidated): such a read is stale, and
/// beyond its class's budget once the divergence is older than the class's <see cref="CachePolicy.StaleBudget"/>. The
/// SLO figure of a class is the share of the window's reads that were not stale beyond the budget.
/// </summary>
internal sealed class FreshnessLedger : IDisposable
{
    public const int Buckets = 10;
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromMinutes(5);
    private const int MaxSuspects = 10_000;
    public static readonly DataClass[] Classes = [DataClass.Critical, DataClass.Important, DataClass.BestEffort];
    private static readonly string[] Names = ["important", "best_effort", "critical"];

    private readonly FreshnessMetrics _instruments;
    private readonly Func<DataClass, TimeSpan> _budget;
    private readonly TimeProvider _time;
    private readonly Window[] _ring = new Window[Buckets];
    private readonly ConcurrentDictionary<(string Tenant, CacheKey Key), SuspectEntry> _suspects = new();
    private readonly ITimer _rotation;
    private Window _current;
    private int _currentIndex;
    private int _suspectCount;
    private double _lastDivergence = double.NaN;

    public FreshnessLedger(CacheMetrics metrics, Func<DataClass, TimeSpan> budget, TimeSpan window, TimeProvider time)
    {
        _instruments = FreshnessMetrics.For(metrics.Meter);
        NameTag = metrics.NameTag;
        _budget = budget;
        _time = time;
        for (int i = 0; i < Buckets; i++)
        {
            _ring[i] = new Window();
        }

        _current = _ring[0];
        TimeSpan period = window / Buckets;
        _rotation = time.CreateTimer(static s => ((FreshnessLedger)s!).Rotate(), this, period, period);
        _instruments.Watch(this);
    }

    public KeyValuePair<string, object?> NameTag { get; }

    /// <summary>The divergence the last verification estimated; null before the first.</summary>
    public double? LastDivergence => Volatile.Read(ref _lastDivergence) is var d && double.IsNaN(d) ? null : d;

    public static string Name(DataClass dataClass) => Names[(int)dataClass];

    /// <summary>Counts a read served to a caller; a read of a suspect is a stale read.</summary>
    public void Read(DataClass dataClass, string tenant, CacheKey key)
    {
        Interlocked.Increment(ref Volatile.Read(ref _current).Reads[Window.Slot(dataClass)]);
        if (Volatile.Read(ref _suspectCount) != 0)
        {
            ReadOfPossibleSuspect(dataClass, tenant, key);
        }
    }

    /// <summary>
    /// Verification confirmed that the entry (holding <paramref name="value"/>) diverges from its source; it stays a suspect
    /// until <paramref name="until"/>, its invalidation here, or a verification that finds it gone or rewritten.
    /// </summary>
    public void Suspect(string tenant, CacheKey key, byte[] value, DateTimeOffset firstSeen, DateTimeOffset until)
    {
        if (_suspects.Count < MaxSuspects || _suspects.ContainsKey((tenant, key)))
        {
            _suspects[(tenant, key)] = new SuspectEntry(firstSeen, until, value);
            Volatile.Write(ref _suspectCount, _suspects.Count);
        }
    }

    /// <summary>The suspects, with the value each was found holding.</summary>
    public IEnumerable<(string Tenant, CacheKey Key, byte[] Value)> Suspects() =>
        _suspects.Select(s => (s.Key.Tenant, s.Key.Key, s.Value.Value));

    /// <summary>The entry was invalidated: its reads are no longer stale.</summary>
    public void Forget(string tenant, CacheKey key)
    {
        if (Volatile.Read(ref _suspectCount) != 0 && _suspects.TryRemove((tenant, key), out _))
        {
            Volatile.Write(ref _suspectCount, _suspects.Count);
        }
    }

    /// <summary>An invalidation Redis confirmed: the suspects it may concern are no longer served.</summary>
    public void Forget(JournalEntry invalidation)
    {
        if (Volatile.Read(ref _suspectCount) == 0)
        {
            return;
        }

        foreach ((string tenant, CacheKey key) in _suspects.Keys)
        {
            if (invalidation.Affects(tenant, key))
            {
                _suspects.TryRemove((tenant, key), out _);
            }
        }

        Volatile.Write(ref _suspectCount, _suspects.Count);
    }

    /// <summary>An invalidation that may concern any entry (a namespace, a version, a tenant).</summary>
    public void ForgetAll()
    {
        _suspects.Clear();
        Volatile.Write(ref _suspectCount, 0);
    }

    public void Divergence(double estimate) => Volatile.Write(ref _lastDivergence, estimate);

    /// <summary>The share of the window's reads of <paramref name="dataClass"/> that were not stale beyond its budget.</summary>
    public double Slo(DataClass dataClass)
    {
        long reads = 0, beyond = 0;
        foreach (Window window in _ring)
        {
            for (int stripe = 0; stripe < Window.Stripes; stripe++)
            {
                reads += Interlocked.Read(ref window.Reads[(stripe * Window.Stride) + (int)dataClass]);
            }

            beyond += Interlocked.Read(ref window.StaleBeyondBudget[(int)dataClass]);
        }

        return reads == 0 ? 1.0 : 1.0 - ((double)Math.Min(beyond, reads) / reads);
    }

    public void Dispose()
    {
        _rotation.Dispose();
        _instruments.Unwatch(this);
    }

    private void ReadOfPossibleSuspect(DataClass dataClass, string tenant, CacheKey key)
    {
        if (!_suspects.TryGetValue((tenant, key), out SuspectEntry suspect))
        {
            return;
        }

        DateTimeOffset now = _time.GetUtcNow();
        if (now >= suspect.Until)
        {
            Forget(tenant, key);
            return;
        }

        TimeSpan age = now - suspect.FirstSeen;
        bool withinBudget = age <= _budget(dataClass);
        if (!withinBudget)
        {
            Interlocked.Increment(ref Volatile.Read(ref _current).StaleBeyondBudget[(int)dataClass]);
        }

        KeyValuePair<string, object?> classTag = new(FreshnessMetrics.DataClassAttribute, Name(dataClass));
        _instruments.StaleReads.Add(1, NameTag, classTag, new("cacheinvalidation.within_budget", withinBudget));
        _instruments.StaleReadAge.Record(age.TotalSeconds, NameTag, classTag);
    }

    private void Rotate()
    {
        int next = (_currentIndex + 1) % Buckets;
        var fresh = new Window();
        _ring[next] = fresh;
        _currentIndex = next;
        Volatile.Write(ref _current, fresh);
    }

    /// <summary>
    /// One bucket of the window. Reads are counted on every cache read, from every core: each thread increments the
    /// counter of its stripe, a cache line of its own, so concurrent readers do not contend on one line.
    /// </summary>
    private sealed class Window
    {
        public const int Stripes = 16;
        public const int Stride = 8; // 8 longs: one 64-byte cache line per stripe
        public readonly long[] Reads = new long[Stripes * Stride];
        public readonly long[] StaleBeyondBudget = new long[3];

        public static int Slot(DataClass dataClass) => ((Environment.CurrentManagedThreadId & (Stripes - 1)) * Stride) + (int)dataClass;
    }

    private readonly record struct SuspectEntry(DateTimeOffset FirstSeen, DateTimeOffset Until, byte[] Value);
}
