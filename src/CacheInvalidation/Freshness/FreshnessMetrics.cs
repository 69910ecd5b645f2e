using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Policy;

namespace CacheInvalidation.Freshness;

/// <summary>
/// The freshness instruments of one meter, created once per meter like <see cref="CacheInstruments"/>: stale reads and
/// their age, verification samples, and two gauges — the divergence the last verification estimated, and the SLO figure
/// (the share of reads that reflected committed data within their class's budget) — reported for every cache watched.
/// </summary>
internal sealed class FreshnessMetrics
{
    public const string DataClassAttribute = "cacheinvalidation.data_class";
    private static readonly ConditionalWeakTable<Meter, FreshnessMetrics> ByMeter = new();
    private readonly ConcurrentDictionary<FreshnessLedger, byte> _ledgers = new();

    private FreshnessMetrics(Meter meter)
    {
        StaleReads = meter.CreateCounter<long>("cacheinvalidation.reads.stale", "{read}", "Reads served from an entry known to diverge from its source (found by verification), by data class and whether the divergence was still inside the class's staleness budget.");
        StaleReadAge = meter.CreateHistogram<double>("cacheinvalidation.reads.stale.age", "s", "How long the entry of a stale read had been known to diverge from its source when it was served.");
        Samples = meter.CreateCounter<long>("cacheinvalidation.freshness.samples", "{entry}", "Cached entries verified against their source, by outcome: fresh, divergent (confirmed on a second look), settled (diverged, then was invalidated or rewritten before the second look), expired (past its TTL, served only as stale), unreadable (gone or under an old version), error (the source or Redis failed).");
        meter.CreateObservableGauge("cacheinvalidation.freshness.divergence", ObserveDivergence, "1", "The share of readable entries the last verification found diverging from their source (its estimate).");
        meter.CreateObservableGauge("cacheinvalidation.freshness.slo", ObserveSlo, "1", "By data class: the share of reads in the last window that reflected committed data within the class's staleness budget (1 when no read was stale beyond it).");
    }

    public Counter<long> StaleReads { get; }

    public Histogram<double> StaleReadAge { get; }

    public Counter<long> Samples { get; }

    public static FreshnessMetrics For(Meter meter) => ByMeter.GetValue(meter, static m => new FreshnessMetrics(m));

    public void Watch(FreshnessLedger ledger) => _ledgers.TryAdd(ledger, 0);

    public void Unwatch(FreshnessLedger ledger) => _ledgers.TryRemove(ledger, out _);

    private IEnumerable<Measurement<double>> ObserveDivergence()
    {
        foreach (FreshnessLedger ledger in _ledgers.Keys)
        {
            if (ledger.LastDivergence is { } divergence)
            {
                yield return new Measurement<double>(divergence, ledger.NameTag);
            }
        }
    }

    private IEnumerable<Measurement<double>> ObserveSlo()
    {
        foreach (FreshnessLedger ledger in _ledgers.Keys)
        {
            foreach (DataClass dataClass in FreshnessLedger.Classes)
            {
                yield return new Measurement<double>(ledger.Slo(dataClass), ledger.NameTag, new(DataClassAttribute, FreshnessLedger.Name(dataClass)));
            }
        }
    }
}
