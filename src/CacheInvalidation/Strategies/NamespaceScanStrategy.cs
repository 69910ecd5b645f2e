using CacheInvalidation.Client;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Strategies;

/// <summary>
/// The namespace-scan strategy. It first voids the namespace — a version bump, after which no entry of it is readable
/// and no load of it can write — and only then frees the memory: SCAN on every primary for the namespace's keys,
/// UNLINK of its entries in bounded batches, paced to a rate, with progress, cancellable between batches.
/// </summary>
internal sealed class NamespaceScanStrategy(VersionTagStrategy versions, IKeyspace keyspace, TimeProvider time)
{
    /// <exception cref="ArgumentException"><paramref name="namespace"/> is not valid; named <paramref name="paramName"/>.</exception>
    public async Task<NamespaceInvalidationReport> InvalidateAsync(
        KeyLayout layout,
        string @namespace,
        string paramName,
        NamespaceInvalidationOptions options,
        IProgress<NamespaceInvalidationProgress>? progress,
        CancellationToken cancellationToken)
    {
        string pattern = layout.NamespacePattern(@namespace, paramName);
        long started = time.GetTimestamp();
        await versions.BumpNamespaceAsync(layout, @namespace, paramName, cancellationToken).ConfigureAwait(false);

        async Task<long> ReclaimAsync(IReadOnlyList<string> keys, long scanned, long deletedBefore, CancellationToken token)
        {
            // The pattern narrows the scan; this rule is exact: entries of the namespace and those under it, never a
            // lease or version, never another tenant's or prefix's key.
            string[] entries = keys.Where(k => layout.IsEntryInNamespace(k, @namespace)).ToArray();
            long deleted = await keyspace.UnlinkAsync(entries, token).ConfigureAwait(false);
            progress?.Report(new NamespaceInvalidationProgress(scanned, deletedBefore + deleted));
            if (options.MaxKeysPerSecond is { } rate)
            {
                TimeSpan due = TimeSpan.FromSeconds((double)(deletedBefore + deleted) / rate) - time.GetElapsedTime(started);
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, time, token).ConfigureAwait(false);
                }
            }

            token.ThrowIfCancellationRequested();
            return deleted;
        }

        (long scannedTotal, long deletedTotal) = await keyspace.ScanAsync(pattern, options.BatchSize, ReclaimAsync, cancellationToken).ConfigureAwait(false);
        return new NamespaceInvalidationReport(@namespace, scannedTotal, deletedTotal, time.GetElapsedTime(started));
    }
}
