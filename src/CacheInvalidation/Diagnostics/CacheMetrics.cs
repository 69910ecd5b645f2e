using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CacheInvalidation.Diagnostics;

/// <summary>
/// Every instrument of the library, on one <see cref="Meter"/> named <see cref="MeterName"/>. Tags are low-cardinality
/// on purpose: never a key.
/// </summary>
public static class CacheMetrics
{
    /// <summary>The name of the library's meter, for <c>AddMeter</c> in OpenTelemetry or a <see cref="MeterListener"/>.</summary>
    public const string MeterName = "CacheInvalidation";

    private static readonly Meter Meter = new(MeterName, typeof(CacheMetrics).Assembly.GetName().Version?.ToString());

    private static readonly Counter<long> Requests = Meter.CreateCounter<long>(
        "cache.requests", "{request}", "Cache reads by result: local (served from the process's memory), hit, stale (served inside the stale budget while refreshed), miss, bypass (not cached by policy) or error (store failed, source used).");

    private static readonly Counter<long> CorruptEntries = Meter.CreateCounter<long>(
        "cache.entries.corrupt", "{entry}", "Entries that could not be deserialized; each was deleted and treated as a miss.");

    private static readonly Counter<long> Writes = Meter.CreateCounter<long>(
        "cache.writes", "{write}", "Entry writes by result: written, refused (an invalidation, version bump or direct set voided the lease), skipped (a caller joined the load with a dependency it could not track) or error.");

    private static readonly Counter<long> LeaseWaits = Meter.CreateCounter<long>(
        "cache.lease.waits", "{wait}", "Misses that waited for another caller's lease by outcome: served (its value arrived) or timeout (factory called uncached).");

    private static readonly Counter<long> Refreshes = Meter.CreateCounter<long>(
        "cache.refreshes", "{refresh}", "Background refreshes (stale or early) by result: written, refused, skipped (lease held elsewhere) or error.");

    private static readonly Counter<long> Invalidations = Meter.CreateCounter<long>(
        "cache.invalidations", "{invalidation}", "Invalidations by kind: key, source, namespace, all, purge.");

    private static readonly Counter<long> StoreErrors = Meter.CreateCounter<long>(
        "cache.store.errors", "{error}", "Store (Redis) failures by operation.");

    private static readonly Counter<long> Events = Meter.CreateCounter<long>(
        "cache.events", "{event}", "Invalidation events by outcome: applied, duplicate, out-of-order (older than one applied), dead-lettered, dry-run, retried.");

    private static readonly Histogram<double> EventLag = Meter.CreateHistogram<double>(
        "cache.invalidation.lag", "ms", "Time from an event's occurrence at the source to its invalidation being applied.");

    private static readonly Counter<long> CircuitChanges = Meter.CreateCounter<long>(
        "cache.circuit", "{change}", "Changes of the Redis circuit breaker's state: opened, half-opened, closed.");

    private static readonly Counter<long> JournalEvents = Meter.CreateCounter<long>(
        "cache.invalidations.journal", "{invalidation}", "Unconfirmed invalidations by outcome: journaled (Redis did not confirm it), replayed (applied once Redis answered again), collapsed (the journal overflowed and voided whole tenants instead).");

    private static readonly Counter<long> ReplicationShortfalls = Meter.CreateCounter<long>(
        "cache.replication.short", "{bump}", "Version bumps on a cluster that no replica of their primary acknowledged within the WAIT timeout.");

    private static readonly Counter<long> LocalMessages = Meter.CreateCounter<long>(
        "cache.local.invalidations", "{message}", "Invalidation messages the local tier received from the shards' channels.");

    private static readonly Counter<long> LocalEvictions = Meter.CreateCounter<long>(
        "cache.local.evictions", "{entry}", "Entries the local tier removed because an invalidation named them (scope flushes are counted by cache.local.flushes).");

    private static readonly Counter<long> LocalGaps = Meter.CreateCounter<long>(
        "cache.local.gaps", "{gap}", "Invalidations the local tier found it had missed (a sequence number skipped, or not received by the next confirmation).");

    private static readonly Counter<long> LocalFlushes = Meter.CreateCounter<long>(
        "cache.local.flushes", "{flush}", "Shards the local tier flushed, by reason: start (first confirmation), gap (a missed invalidation), disconnect (a connection to Redis failed).");

    private static readonly Counter<long> LocalInsertsRefused = Meter.CreateCounter<long>(
        "cache.local.inserts.refused", "{entry}", "Values not put in memory because their shard changed while they were read or written.");

    private static Func<double>? s_localConfirmationAge;
    private static Func<int>? s_localEntries;

    private static readonly ObservableGauge<double> LocalConfirmationAge = Meter.CreateObservableGauge(
        "cache.local.confirmation.age", () => s_localConfirmationAge?.Invoke() ?? 0, "s", "How long ago the least recently confirmed shard was proven to have missed no invalidation.");

    private static readonly ObservableGauge<int> LocalEntries = Meter.CreateObservableGauge(
        "cache.local.entries", () => s_localEntries?.Invoke() ?? 0, "{entry}", "Entries held by the local tier (void ones included until evicted).");

    private static long s_pendingEvents;
    private static Func<int>? s_journalPending;

    private static readonly ObservableGauge<int> JournalPending = Meter.CreateObservableGauge(
        "cache.invalidations.pending", () => s_journalPending?.Invoke() ?? 0, "{invalidation}", "Invalidations not confirmed by Redis yet, waiting in the journal.");

    private static readonly ObservableGauge<long> PendingEvents = Meter.CreateObservableGauge(
        "cache.events.pending", () => Interlocked.Read(ref s_pendingEvents), "{event}", "Events delivered to the consumer group but not yet acknowledged.");

    internal static void Journaled() => JournalEvents.Add(1, new KeyValuePair<string, object?>("outcome", "journaled"));

    internal static void JournalReplayed() => JournalEvents.Add(1, new KeyValuePair<string, object?>("outcome", "replayed"));

    internal static void JournalCollapsed() => JournalEvents.Add(1, new KeyValuePair<string, object?>("outcome", "collapsed"));

    /// <summary>Where the pending-invalidations gauge reads from (the last cache created; one per application).</summary>
    internal static void ObserveJournal(Func<int> pending) => s_journalPending = pending;

    internal static void LocalMessage() => LocalMessages.Add(1);

    internal static void LocalEviction() => LocalEvictions.Add(1);

    internal static void LocalGap() => LocalGaps.Add(1);

    internal static void LocalFlush(string reason) => LocalFlushes.Add(1, new KeyValuePair<string, object?>("reason", reason));

    internal static void LocalInsertRefused() => LocalInsertsRefused.Add(1);

    /// <summary>Where the local tier's gauges read from (the last cache created; one per application).</summary>
    internal static void ObserveLocalConfirmation(Func<double> age) => s_localConfirmationAge = age;

    /// <inheritdoc cref="ObserveLocalConfirmation"/>
    internal static void ObserveLocalEntries(Func<int> entries) => s_localEntries = entries;

    /// <summary>A disposed tier stops feeding the gauges (unless a newer one took them over).</summary>
    internal static void StopObservingLocal(Func<double> age, Func<int> entries)
    {
        Interlocked.CompareExchange(ref s_localConfirmationAge, null, age);
        Interlocked.CompareExchange(ref s_localEntries, null, entries);
    }

    internal static void ReplicationShort() => ReplicationShortfalls.Add(1);

    internal static void Circuit(string state) => CircuitChanges.Add(1, new KeyValuePair<string, object?>("state", state));

    internal static void Event(string outcome) => Events.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    internal static void Lag(TimeSpan lag) => EventLag.Record(lag.TotalMilliseconds);

    internal static void Pending(long count) => Interlocked.Exchange(ref s_pendingEvents, count);

    internal static void Request(string result) => Requests.Add(1, new KeyValuePair<string, object?>("result", result));

    internal static void CorruptEntry() => CorruptEntries.Add(1);

    internal static void Write(string result) => Writes.Add(1, new KeyValuePair<string, object?>("result", result));

    internal static void LeaseWait(string outcome) => LeaseWaits.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    internal static void Refresh(string result) => Refreshes.Add(1, new KeyValuePair<string, object?>("result", result));

    internal static void Invalidation(string kind) => Invalidations.Add(1, new KeyValuePair<string, object?>("kind", kind));

    internal static void StoreError(string operation) => StoreErrors.Add(1, new KeyValuePair<string, object?>("operation", operation));
}
