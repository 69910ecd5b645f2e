using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Strategies;

/// <summary>
/// Orphan control. Version bumps void entries in O(1) and leave them in place: unreadable, waiting for their TTL. This
/// strategy finds them — SCAN on every primary for the tenant's entries, then the orphan script, which reads each entry's
/// stamp (never its value) and PTTL atomically with its scope's versions — and either estimates them from a uniform
/// sample or removes them in bounded, paced batches. The removal is decided inside the same script as the check, so an
/// entry written under the current versions meanwhile is never removed; leases, versions, sequences and indexes are never
/// candidates.
/// </summary>
internal sealed class OrphanCleanupStrategy(IKeyspace keyspace, IOrphanStore store, TimeProvider time, CacheMetrics metrics)
{
    private const int ScanPage = 1000;
    private const int CheckBatch = 500;

    /// <summary>Estimates the orphans of <paramref name="layout"/>'s tenant from a uniform sample of <paramref name="sampleSize"/> entries.</summary>
    public async Task<OrphanReport> CountAsync(KeyLayout layout, int sampleSize, CancellationToken cancellationToken)
    {
        long started = time.GetTimestamp();
        var sample = new List<OrphanCandidate>(Math.Min(sampleSize, 4096));
        long entries = 0;

        Task<long> SampleAsync(IReadOnlyList<string> keys, long scanned, long removed, CancellationToken token)
        {
            token.ThrowIfCancellationRequested();
            foreach (string key in keys)
            {
                if (Candidate(layout, key) is not { } candidate)
                {
                    continue;
                }

                // Reservoir sampling (Algorithm R): the scan's total is unknown until it ends, and every entry must have the
                // same chance to be checked — the first pages come from one primary, so a prefix would be biased.
                entries++;
                if (sample.Count < sampleSize)
                {
                    sample.Add(candidate);
                }
                else if (Random.Shared.NextInt64(entries) is var slot && slot < sampleSize)
                {
                    sample[(int)slot] = candidate;
                }
            }

            return Task.FromResult(0L);
        }

        (long scannedTotal, _) = await keyspace.ScanAsync(layout.EntryPattern(), ScanPage, SampleAsync, cancellationToken).ConfigureAwait(false);
        var tally = new OrphanTally();
        foreach (OrphanCandidate[] batch in sample.Chunk(CheckBatch))
        {
            tally.Add(batch, await store.CheckAsync(batch, removeAbove: null, cancellationToken).ConfigureAwait(false));
        }

        double scale = tally.Sampled == 0 ? 0 : (double)entries / tally.Sampled;
        OrphanReport report = tally.Report(scannedTotal, entries, (orphans, _) => (long)Math.Round(orphans * scale), time.GetElapsedTime(started));
        metrics.OrphanEstimate(report.EstimatedOrphans, report.MaxRemainingLifetime);
        return report;
    }

    /// <summary>
    /// Checks every entry of <paramref name="layout"/>'s tenant and removes the orphans that would live longer than
    /// <see cref="OrphanCleanupOptions.MaxOrphanLifetime"/>, <see cref="OrphanCleanupOptions.BatchSize"/> at a time, at most
    /// <see cref="OrphanCleanupOptions.KeysPerSecond"/> entries checked per second; cancellable between batches.
    /// <paramref name="removedSoFar"/> hears the running total after each batch (a cancelled or failed run's audit needs it).
    /// </summary>
    public async Task<OrphanReport> RemoveAsync(KeyLayout layout, OrphanCleanupOptions options, Action<long>? removedSoFar, CancellationToken cancellationToken)
    {
        long started = time.GetTimestamp();
        TimeSpan removeAbove = options.MaxOrphanLifetime ?? TimeSpan.Zero;
        var tally = new OrphanTally();

        async Task<long> CleanAsync(IReadOnlyList<string> keys, long scanned, long removedBefore, CancellationToken token)
        {
            // SCAN may return a key twice while Redis rehashes: each is checked once per batch.
            OrphanCandidate[] batch = keys.Distinct(StringComparer.Ordinal).Select(k => Candidate(layout, k)).OfType<OrphanCandidate>().ToArray();
            long removedBatch = 0;
            if (batch.Length > 0)
            {
                long before = tally.Removed;
                tally.Add(batch, await store.CheckAsync(batch, removeAbove, token).ConfigureAwait(false));
                removedBatch = tally.Removed - before;
                metrics.OrphansRemoved(removedBatch);
                removedSoFar?.Invoke(tally.Removed);
            }

            if (options.KeysPerSecond is { } rate)
            {
                TimeSpan due = TimeSpan.FromSeconds((double)tally.Sampled / rate) - time.GetElapsedTime(started);
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, time, token).ConfigureAwait(false);
                }
            }

            token.ThrowIfCancellationRequested();
            return removedBatch;
        }

        (long scannedTotal, _) = await keyspace.ScanAsync(layout.EntryPattern(), options.BatchSize, CleanAsync, cancellationToken).ConfigureAwait(false);
        OrphanReport report = tally.Report(scannedTotal, tally.Sampled, (orphans, removed) => orphans - removed, time.GetElapsedTime(started));

        // The gauges describe what is left: the orphans kept, and how long the longest of them still lives.
        metrics.OrphanEstimate(report.EstimatedOrphans, OrphanTally.Lifetime(tally.MaxKeptLifetime));
        return report;
    }

    private static OrphanCandidate? Candidate(KeyLayout layout, string key) =>
        layout.ScopeOfEntryKey(key) is { } scope ? new OrphanCandidate(key, NamespaceOf(scope), scope) : null;

    /// <summary>The namespace of a scope: its entry key prefix without the hash tag and the ':' around the namespace.</summary>
    private static string NamespaceOf(VersionScope scope) =>
        scope.EntryKeyPrefix.Length > scope.Tag.Length + 1 ? scope.EntryKeyPrefix[(scope.Tag.Length + 1)..^1] : string.Empty;
}
