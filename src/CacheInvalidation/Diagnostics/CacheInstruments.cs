using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace CacheInvalidation.Diagnostics;

/// <summary>
/// The instruments of one <see cref="Meter"/> (the shared one, or one an application's <c>IMeterFactory</c> created),
/// created once per meter. Gauges report every cache observed on the meter, each under its name.
/// </summary>
internal sealed class CacheInstruments
{
    private static readonly ConditionalWeakTable<Meter, CacheInstruments> ByMeter = new();
    private readonly ConcurrentDictionary<CacheMetrics, byte> _observed = new();

    private CacheInstruments(Meter meter)
    {
        Requests = meter.CreateCounter<long>("cacheinvalidation.requests", "{request}", "Cache reads by result: local (served from the process's memory), hit, stale (served inside the stale budget while refreshed), miss, bypass (not cached by policy), pending (a journaled invalidation targets it) or error (store failed, source used).");
        CorruptEntries = meter.CreateCounter<long>("cacheinvalidation.entries.corrupt", "{entry}", "Entries that could not be deserialized; each was deleted and treated as a miss.");
        Writes = meter.CreateCounter<long>("cacheinvalidation.writes", "{write}", "Entry writes by result: written, refused (an invalidation, version bump or direct set voided the lease), skipped (a caller joined the load with a dependency it could not track) or error.");
        LeaseWaits = meter.CreateCounter<long>("cacheinvalidation.lease.waits", "{wait}", "Misses that waited for another caller's lease by outcome: served (its value arrived) or timeout (factory called uncached).");
        Refreshes = meter.CreateCounter<long>("cacheinvalidation.refreshes", "{refresh}", "Background refreshes (stale or early) by result: done, skipped (lease held elsewhere) or error.");
        Invalidations = meter.CreateCounter<long>("cacheinvalidation.invalidations", "{invalidation}", "Invalidations by kind: key, source, namespace, all, purge, all-tenants.");
        EntriesRemoved = meter.CreateCounter<long>("cacheinvalidation.entries.removed", "{entry}", "Entries an invalidation deleted from Redis, by kind: key, source (the entries of the dependency sets), namespace (a scan). Version bumps void entries without deleting them (they expire). With cacheinvalidation.writes{result=written} it gives the keyspace churn.");
        StoreErrors = meter.CreateCounter<long>("cacheinvalidation.store.errors", "{error}", "Store (Redis) failures by operation.");
        Events = meter.CreateCounter<long>("cacheinvalidation.events", "{event}", "Invalidation events by outcome: applied, duplicate, out-of-order (older than one applied), dead-lettered, dry-run, retried.");
        EventLag = Seconds(meter, "cacheinvalidation.event.lag", "Time from an event's occurrence at the source to its invalidation being applied.");
        FactoryDuration = Seconds(meter, "cacheinvalidation.factory.duration", "Time the factory (the source of truth) took when the cache could not serve — the source fallback latency —, by outcome (success or error) and reason: miss, refresh (a stale or early refresh in the background), store_error (Redis failed or timed out), lease_timeout (another caller's load did not arrive in time).");
        InvalidationDuration = Seconds(meter, "cacheinvalidation.invalidation.duration", "Time an invalidation took until Redis confirmed it (or failed), by kind.");
        CircuitChanges = meter.CreateCounter<long>("cacheinvalidation.circuit.changes", "{change}", "Changes of the Redis circuit breaker's state: opened, closed.");
        JournalEvents = meter.CreateCounter<long>("cacheinvalidation.invalidations.journal", "{invalidation}", "Unconfirmed invalidations by outcome: journaled (Redis did not confirm it), replayed (applied once Redis answered again), collapsed (the journal overflowed and voided whole tenants instead).");
        ReplicationShortfalls = meter.CreateCounter<long>("cacheinvalidation.replication.short", "{bump}", "Version bumps on a cluster that no replica of their primary acknowledged within the WAIT timeout.");
        LocalMessages = meter.CreateCounter<long>("cacheinvalidation.local.invalidations", "{message}", "Invalidation messages the local tier received from the shards' channels.");
        LocalEvictions = meter.CreateCounter<long>("cacheinvalidation.local.evictions", "{entry}", "Entries the local tier removed because an invalidation named them (scope flushes are counted by cacheinvalidation.local.flushes).");
        LocalGaps = meter.CreateCounter<long>("cacheinvalidation.local.gaps", "{gap}", "Invalidations the local tier found it had missed (a sequence number skipped, or not received by the next confirmation).");
        LocalFlushes = meter.CreateCounter<long>("cacheinvalidation.local.flushes", "{flush}", "Shards the local tier flushed, by reason: start (first confirmation), gap (a missed invalidation), disconnect (a connection to Redis failed).");
        LocalInsertsRefused = meter.CreateCounter<long>("cacheinvalidation.local.inserts.refused", "{entry}", "Values not put in memory because their shard changed while they were read or written.");
        KillSwitchOperations = meter.CreateCounter<long>("cacheinvalidation.kill_switch.operations", "{operation}", "Aggressive invalidations the engaged kill switch held back, by kind (namespace, purge, all-tenants) and outcome: diverted (done as a version bump instead of a scan) or refused (a purge, thrown and audited).");
        meter.CreateObservableGauge("cacheinvalidation.kill_switch.engaged", () => Observe(m => m.KillSwitchEngaged), "{switch}", "1 while the kill switch suspends aggressive invalidation (by configuration, or by the administration as this node last read it from Redis), else 0.");
        meter.CreateObservableGauge("cacheinvalidation.local.confirmation.age", () => Observe(m => m.LocalConfirmationAge), "s", "How long ago the least recently confirmed shard was proven to have missed no invalidation.");
        meter.CreateObservableGauge("cacheinvalidation.local.entries", () => Observe(m => m.LocalEntries), "{entry}", "Entries held by the local tier (void ones included until evicted).");
        meter.CreateObservableGauge("cacheinvalidation.invalidations.pending", () => Observe(m => m.JournalPending), "{invalidation}", "Invalidations not confirmed by Redis yet, waiting in the journal.");
        meter.CreateObservableGauge("cacheinvalidation.events.pending", () => Observe(m => m.PendingEvents), "{event}", "Events delivered to the consumer group but not yet acknowledged.");
        OrphansRemoved = meter.CreateCounter<long>("cacheinvalidation.orphans.removed", "{entry}", "Orphans (entries left under old versions, unreadable until their TTL ends) removed by an orphan cleanup.");
        meter.CreateObservableGauge("cacheinvalidation.orphans.estimated", () => Observe(m => m.OrphansEstimated), "{entry}", "Orphans the last orphan count estimated in the tenant's keyspace (or a cleanup left in place).");
        meter.CreateObservableGauge("cacheinvalidation.orphans.lifetime", () => Observe(m => m.OrphanLifetime), "s", "The longest remaining lifetime (PTTL) of an orphan the last count or cleanup saw.");
    }

    public Counter<long> Requests { get; }

    public Counter<long> CorruptEntries { get; }

    public Counter<long> Writes { get; }

    public Counter<long> LeaseWaits { get; }

    public Counter<long> Refreshes { get; }

    public Counter<long> Invalidations { get; }

    public Counter<long> EntriesRemoved { get; }

    public Counter<long> StoreErrors { get; }

    public Counter<long> Events { get; }

    public Histogram<double> EventLag { get; }

    public Histogram<double> FactoryDuration { get; }

    public Histogram<double> InvalidationDuration { get; }

    public Counter<long> CircuitChanges { get; }

    public Counter<long> JournalEvents { get; }

    public Counter<long> ReplicationShortfalls { get; }

    public Counter<long> LocalMessages { get; }

    public Counter<long> LocalEvictions { get; }

    public Counter<long> LocalGaps { get; }

    public Counter<long> LocalFlushes { get; }

    public Counter<long> LocalInsertsRefused { get; }

    public Counter<long> KillSwitchOperations { get; }

    public static CacheInstruments For(Meter meter) => ByMeter.GetValue(meter, static m => new CacheInstruments(m));

    /// <summary>
    /// A duration histogram in seconds. On .NET 9+ it advises bucket boundaries from 0.5 ms to 10 s: the defaults of
    /// OpenTelemetry's SDK are meant for milliseconds and would put every cache duration in the first bucket.
    /// </summary>
    private static Histogram<double> Seconds(Meter meter, string name, string description) =>
#if NET9_0_OR_GREATER
        meter.CreateHistogram(name, "s", description, tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondBuckets });
#else
        meter.CreateHistogram<double>(name, "s", description);
#endif

#if NET9_0_OR_GREATER
    private static readonly double[] SecondBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
#endif

    /// <summary>Reports <paramref name="metrics"/> in the gauges while it has something to report.</summary>
    public void Watch(CacheMetrics metrics, bool watching)
    {
        if (watching)
        {
            _observed.TryAdd(metrics, 0);
        }
        else
        {
            _observed.TryRemove(metrics, out _);
        }
    }

    private IEnumerable<Measurement<double>> Observe(Func<CacheMetrics, Func<double>?> gauge)
    {
        foreach (CacheMetrics metrics in _observed.Keys)
        {
            if (gauge(metrics) is { } read)
            {
                yield return new Measurement<double>(read(), metrics.NameTag);
            }
        }
    }

    public Counter<long> OrphansRemoved { get; }
}
