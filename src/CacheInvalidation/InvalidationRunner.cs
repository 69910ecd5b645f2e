using System.Diagnostics;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using CacheInvalidation.Strategies;
using Microsoft.Extensions.Logging;

namespace CacheInvalidation;

/// <summary>
/// How every invalidation of the facade runs: the layout check, the strategy's work, the detaching of loads in flight,
/// metrics and logs — and, when Redis does not confirm it, the journal that applies it once Redis answers again.
/// </summary>
internal sealed class InvalidationRunner : IDisposable
{
    private readonly ReadThrough _readThrough;
    private readonly LayoutGuard _layoutGuard;
    private readonly ICacheStore _store;
    private readonly VersionTagStrategy _versions;
    private readonly DependencySetStrategy _dependencies;
    private readonly TenantLayouts _tenants;
    private readonly ILogger _logger;
    private readonly CacheMetrics _metrics;
    private readonly Action<JournalEntry, long> _completed;

    public InvalidationRunner(
        ReadThrough readThrough,
        LayoutGuard layoutGuard,
        ICacheStore store,
        VersionTagStrategy versions,
        DependencySetStrategy dependencies,
        TenantLayouts tenants,
        int journalCapacity,
        TimeProvider time,
        ILogger logger,
        CacheMetrics metrics,
        Action<JournalEntry, long> completed) // told of each invalidation Redis confirmed, with the entries it deleted
    {
        _metrics = metrics;
        _completed = completed;
        _readThrough = readThrough;
        _layoutGuard = layoutGuard;
        _store = store;
        _versions = versions;
        _dependencies = dependencies;
        _tenants = tenants;
        _logger = logger;
        Journal = new InvalidationJournal(journalCapacity, ApplyJournaledAsync, time, logger, metrics);
        _metrics.ObserveJournal(() => Journal.Count);
    }

    /// <summary>The invalidations Redis did not confirm yet.</summary>
    public InvalidationJournal Journal { get; }

    /// <summary>
    /// Runs an invalidation (after checking that this process lays the prefix out as the others do), then detaches the
    /// loads in flight it may concern (one entry's, or all), whether or not it completed: a caller that comes after it
    /// never joins a load that began before it. One Redis did not confirm is counted, logged, kept in the journal (applied
    /// when Redis answers again; reads of what it targets avoid Redis until then) and reported to the caller.
    /// </summary>
    public async Task<TResult> RunAsync<TResult>(string kind, string target, JournalEntry entry, Func<Task<TResult>> invalidation, CancellationToken cancellationToken, string? entryKey = null)
    {
        using Activity? activity = CacheActivities.StartInvalidation(_metrics.NameTag, kind);
        long started = Stopwatch.GetTimestamp();
        try
        {
            await _layoutGuard.ThrowIfMismatchedAsync(cancellationToken).ConfigureAwait(false);
            TResult result = await invalidation().ConfigureAwait(false);
            _metrics.Invalidation(kind);
            _metrics.InvalidationDuration(kind, started);
            _completed(entry, Deleted(result));
            return result;
        }
        catch (CacheStoreException ex)
        {
            _metrics.InvalidationDuration(kind, started);
            CacheActivities.Fail(activity, ex);
            _metrics.StoreError("invalidate");
            _metrics.Journaled();
            Journal.Add(entry);
            Log.InvalidationJournaled(_logger, kind, target, Journal.Count, ex);
            throw new CacheStoreException(
                $"The invalidation ({kind}) of {target} was not confirmed by Redis: {ex.Message} It is kept in this process's journal and applied " +
                "as soon as Redis answers again; until then reads of what it targets are served from the source.",
                ex)
            { Journaled = true };
        }
        finally
        {
            if (entryKey is null)
            {
                _readThrough.DetachAll();
            }
            else
            {
                _readThrough.Detach(entryKey);
            }
        }
    }

    private static long Deleted<TResult>(TResult result) => result switch
    {
        bool existed => existed ? 1 : 0,
        long entries => entries,
        NamespaceInvalidationReport report => report.Deleted,
        _ => 0,
    };

    /// <summary>Applies a journaled invalidation (a namespace scan's as its version bump: the void, not the reclaim).</summary>
    private async Task ApplyJournaledAsync(JournalEntry entry)
    {
        KeyLayout layout = _tenants.For(entry.Tenant);
        switch (entry.Kind)
        {
            case JournalKind.Key:
                await _store.DeleteAsync(layout.Address(entry.Key), CancellationToken.None).ConfigureAwait(false);
                break;
            case JournalKind.Sources:
                await _dependencies.InvalidateAsync(entry.Targets!.Select(layout.Source), CancellationToken.None).ConfigureAwait(false);
                break;
            case JournalKind.Namespace:
                await _versions.BumpNamespaceAsync(layout, entry.Targets![0], "namespaceName", CancellationToken.None).ConfigureAwait(false);
                break;
            default:
                await _versions.BumpGlobalAsync(layout, CancellationToken.None).ConfigureAwait(false);
                break;
        }

        _readThrough.DetachAll();
    }

    /// <summary>Stops applying the journal.</summary>
    public void Dispose()
    {
        Journal.Dispose();
        _metrics.StopObservingJournal();
    }
}
