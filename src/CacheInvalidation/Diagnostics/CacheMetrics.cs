using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CacheInvalidation.Diagnostics;

/// <summary>
/// The measurements of one cache: every instrument of <see cref="CacheInstruments"/> on its meter, tagged with the cache's
/// name. Tags are low-cardinality on purpose: never a key. Measurements taken while a span of the library is current
/// also become that span's result attribute or events (the Redis work of a read: lease waits, writes, store errors).
/// </summary>
internal sealed class CacheMetrics
{
    private const string ResultAttribute = "cacheinvalidation.result";
    private const string OutcomeAttribute = "cacheinvalidation.outcome";
    private const string ReasonAttribute = "cacheinvalidation.reason";
    private static readonly Meter SharedMeter = new(CacheTelemetry.MeterName, CacheTelemetry.Version);

    private readonly CacheInstruments _instruments;
    private Func<double>? _localConfirmationAge;
    private Func<double>? _localEntries;
    private Func<double>? _journalPending;
    private long _pendingEvents = -1;
    private Func<bool>? _killSwitchConfigured;
    private int _killSwitchAdministered;

    public CacheMetrics(Meter meter, string cacheName)
    {
        _instruments = CacheInstruments.For(meter);
        Meter = meter;
        NameTag = new KeyValuePair<string, object?>(CacheTelemetry.CacheNameAttribute, cacheName);
    }

    /// <summary>The measurements of a cache created without a meter factory or a name.</summary>
    public static CacheMetrics Shared { get; } = new(SharedMeter, "default");

    /// <summary>The meter the instruments are on (other instrument sets of the cache share it).</summary>
    public Meter Meter { get; }

    /// <summary>The cache's name, as the tag every measurement carries.</summary>
    public KeyValuePair<string, object?> NameTag { get; }

    /// <summary>Creates the measurements of a named cache, on the application's meter factory when it has one.</summary>
    public static CacheMetrics Create(IMeterFactory? factory, string cacheName) =>
        factory is null && cacheName == "default"
            ? Shared
            : new CacheMetrics(factory?.Create(new MeterOptions(CacheTelemetry.MeterName) { Version = CacheTelemetry.Version }) ?? SharedMeter, cacheName);

    /// <summary>True when a listener records factory durations (the factory is then timed).</summary>
    public bool FactoryObserved => _instruments.FactoryDuration.Enabled;

    internal Func<double>? LocalConfirmationAge => _localConfirmationAge;

    internal Func<double>? LocalEntries => _localEntries;

    internal Func<double>? JournalPending => _journalPending;

    internal Func<double>? KillSwitchEngaged => _killSwitchConfigured is { } configured
        ? () => (configured() || Volatile.Read(ref _killSwitchAdministered) == 1) ? 1 : 0
        : null;

    internal Func<double>? PendingEvents => Interlocked.Read(ref _pendingEvents) < 0 ? null : () => Interlocked.Read(ref _pendingEvents);

    public void Request(string result)
    {
        _instruments.Requests.Add(1, NameTag, new(ResultAttribute, result));
        CacheActivities.SetResult(result);
    }

    public void CorruptEntry() => _instruments.CorruptEntries.Add(1, NameTag);

    public void Write(string result)
    {
        _instruments.Writes.Add(1, NameTag, new(ResultAttribute, result));
        CacheActivities.AddEvent("cacheinvalidation.write", ResultAttribute, result);
    }

    public void LeaseWait(string outcome)
    {
        _instruments.LeaseWaits.Add(1, NameTag, new(OutcomeAttribute, outcome));
        CacheActivities.AddEvent("cacheinvalidation.lease.wait", OutcomeAttribute, outcome);
    }

    public void Refresh(string result) => _instruments.Refreshes.Add(1, NameTag, new(ResultAttribute, result));

    public void Invalidation(string kind) => _instruments.Invalidations.Add(1, NameTag, new(CacheActivities.KindAttribute, kind));

    public void InvalidationDuration(string kind, long startTimestamp) =>
        _instruments.InvalidationDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, NameTag, new(CacheActivities.KindAttribute, kind));

    public void FactoryDuration(bool succeeded, string reason, long startTimestamp) =>
        _instruments.FactoryDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, NameTag, new(OutcomeAttribute, succeeded ? "success" : "error"), new(ReasonAttribute, reason));

    public void EntriesRemoved(string kind, long count)
    {
        if (count > 0)
        {
            _instruments.EntriesRemoved.Add(count, NameTag, new(CacheActivities.KindAttribute, kind));
        }
    }

    public void StoreError(string operation)
    {
        _instruments.StoreErrors.Add(1, NameTag, new("cacheinvalidation.operation", operation));
        CacheActivities.AddEvent("cacheinvalidation.store.error", "cacheinvalidation.operation", operation);
    }

    public void Event(string outcome)
    {
        _instruments.Events.Add(1, NameTag, new(OutcomeAttribute, outcome));
        CacheActivities.SetResult(outcome);
    }

    public void Lag(TimeSpan lag) => _instruments.EventLag.Record(lag.TotalSeconds, NameTag);

    public void Circuit(string state) => _instruments.CircuitChanges.Add(1, NameTag, new("cacheinvalidation.circuit.state", state));

    public void Journaled() => _instruments.JournalEvents.Add(1, NameTag, new(OutcomeAttribute, "journaled"));

    public void JournalReplayed() => _instruments.JournalEvents.Add(1, NameTag, new(OutcomeAttribute, "replayed"));

    public void JournalCollapsed() => _instruments.JournalEvents.Add(1, NameTag, new(OutcomeAttribute, "collapsed"));

    public void ReplicationShort() => _instruments.ReplicationShortfalls.Add(1, NameTag);

    public void LocalMessage() => _instruments.LocalMessages.Add(1, NameTag);

    public void LocalEviction() => _instruments.LocalEvictions.Add(1, NameTag);

    public void LocalGap() => _instruments.LocalGaps.Add(1, NameTag);

    public void LocalFlush(string reason) => _instruments.LocalFlushes.Add(1, NameTag, new(ReasonAttribute, reason));

    public void LocalInsertRefused() => _instruments.LocalInsertsRefused.Add(1, NameTag);

    /// <summary>An aggressive invalidation the kill switch held back: <paramref name="outcome"/> is diverted or refused.</summary>
    public void KillSwitchOperation(string kind, string outcome) =>
        _instruments.KillSwitchOperations.Add(1, NameTag, new(CacheActivities.KindAttribute, kind), new(OutcomeAttribute, outcome));

    /// <summary>Where the kill-switch gauge reads the configured switch from, until <see cref="StopObservingKillSwitch"/>.</summary>
    public void ObserveKillSwitch(Func<bool> configured)
    {
        _killSwitchConfigured = configured;
        _instruments.Watch(this, watching: true);
    }

    /// <summary>The administrative switch as last read from (or written to) Redis.</summary>
    public void KillSwitchAdministered(bool engaged) => Volatile.Write(ref _killSwitchAdministered, engaged ? 1 : 0);

    /// <summary>A disposed cache stops feeding the kill-switch gauge.</summary>
    public void StopObservingKillSwitch()
    {
        _killSwitchConfigured = null;
        StopWatchingIfIdle();
    }

    /// <summary>Where the pending-invalidations gauge reads from.</summary>
    public void ObserveJournal(Func<int> pending)
    {
        _journalPending = () => pending();
        _instruments.Watch(this, watching: true);
    }

    /// <summary>Where the local tier's gauges read from, until <see cref="StopObservingLocal"/>.</summary>
    public void ObserveLocal(Func<double> confirmationAge, Func<int> entries)
    {
        _localConfirmationAge = confirmationAge;
        _localEntries = () => entries();
        _instruments.Watch(this, watching: true);
    }

    /// <summary>A disposed tier stops feeding the gauges.</summary>
    public void StopObservingLocal()
    {
        _localConfirmationAge = null;
        _localEntries = null;
        StopWatchingIfIdle();
    }

    /// <summary>A disposed cache's journal stops feeding its gauge.</summary>
    public void StopObservingJournal()
    {
        _journalPending = null;
        StopWatchingIfIdle();
    }

    public void Pending(long count)
    {
        Interlocked.Exchange(ref _pendingEvents, count);
        _instruments.Watch(this, watching: true);
    }

    private void StopWatchingIfIdle()
    {
        if (_localConfirmationAge is null && _journalPending is null && _killSwitchConfigured is null && Interlocked.Read(ref _pendingEvents) < 0 && OrphansEstimated is null)
        {
            _instruments.Watch(this, watching: false);
        }
    }

    // Orphan control: the last count's estimate and the longest remaining lifetime it saw; NaN until a count ran.
    private double _orphansEstimated = double.NaN;
    private double _orphanLifetime = double.NaN;

    internal Func<double>? OrphansEstimated => double.IsNaN(Volatile.Read(ref _orphansEstimated)) ? null : () => Volatile.Read(ref _orphansEstimated);

    internal Func<double>? OrphanLifetime => double.IsNaN(Volatile.Read(ref _orphanLifetime)) ? null : () => Volatile.Read(ref _orphanLifetime);

    public void OrphansRemoved(long count)
    {
        if (count > 0)
        {
            _instruments.OrphansRemoved.Add(count, NameTag);
        }
    }

    /// <summary>What the orphan gauges report from now on: the last estimate and the longest remaining lifetime (seconds).</summary>
    public void OrphanEstimate(long estimated, TimeSpan maxLifetime)
    {
        Volatile.Write(ref _orphanLifetime, maxLifetime.TotalSeconds);
        Volatile.Write(ref _orphansEstimated, estimated);
        _instruments.Watch(this, watching: true);
    }
}
