using System.Diagnostics;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Strategies;

/// <summary>One read-through of an entry: what its flight, its lease owner and its background refresh need.</summary>
internal readonly record struct Load<TState, T>(
    ReadThrough Owner,
    KeyLayout Layout,
    CacheKey Key,
    EntryAddress Address,
    TState State,
    Func<TState, CancellationToken, ValueTask<T>> Factory,
    TtlDecision Decision,
    string[]? IndexKeys)
{
    /// <summary>
    /// Calls the factory, inside a <c>cacheinvalidation.factory</c> span and timed, when anyone listens;
    /// <paramref name="reason"/> says why the source is read (miss, refresh, store_error, lease_timeout).
    /// </summary>
    public ValueTask<T> RunFactoryAsync(CacheMetrics metrics, string reason, CancellationToken cancellationToken) =>
        metrics.FactoryObserved || CacheActivities.Enabled ? RunObservedAsync(metrics, reason, cancellationToken) : Factory(State, cancellationToken);

    private async ValueTask<T> RunObservedAsync(CacheMetrics metrics, string reason, CancellationToken cancellationToken)
    {
        using Activity? activity = CacheActivities.StartFactory(metrics.NameTag);
        long started = Stopwatch.GetTimestamp();
        try
        {
            T value = await Factory(State, cancellationToken).ConfigureAwait(false);
            metrics.FactoryDuration(succeeded: true, reason, started);
            return value;
        }
        catch (Exception ex)
        {
            metrics.FactoryDuration(succeeded: false, reason, started);
            CacheActivities.Fail(activity, ex);
            throw;
        }
    }
}
