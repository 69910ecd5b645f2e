using CacheInvalidation.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CacheInvalidation.Client;

/// <summary>
/// The resilience of one Redis connection: one circuit breaker, shared by every call made on it, and three lanes through
/// it — <see cref="Reads"/> (the soft read timeout) for hits, <see cref="Writes"/> (a wider timeout) for the calls of a
/// miss, and <see cref="Operations"/>, breaker only, for invalidations and direct sets (which report their failure to
/// the caller instead of falling back).
/// </summary>
internal sealed class StoreResilience
{
    public StoreResilience(CacheResilienceOptions options, TimeProvider? timeProvider = null, ILogger? logger = null, CacheMetrics? metrics = null)
    {
        Metrics = metrics ?? CacheMetrics.Shared;
        TimeProvider time = timeProvider ?? TimeProvider.System;
        ILogger log = logger ?? NullLogger.Instance;
        Breaker = new CircuitBreaker(options, time);
        Breaker.Opened += duration =>
        {
            Metrics.Circuit("opened");
            Log.CircuitOpened(log, (long)duration.TotalMilliseconds, null);
        };
        Breaker.ClosedAgain += () =>
        {
            Metrics.Circuit("closed");
            Log.CircuitClosed(log);
        };
        Reads = new StoreLane(Breaker, options.ReadTimeout, time);
        Writes = new StoreLane(Breaker, options.WriteTimeout, time);
        Operations = new StoreLane(Breaker, null, time);
    }

    /// <summary>The measurements of the cache this connection serves.</summary>
    public CacheMetrics Metrics { get; }

    /// <summary>The connection's circuit breaker.</summary>
    public CircuitBreaker Breaker { get; }

    /// <summary>Hits: soft timeout, then the caller falls back to the source.</summary>
    public StoreLane Reads { get; }

    /// <summary>The calls of a miss (lease, registration, write): a wider timeout, then the value is returned uncached.</summary>
    public StoreLane Writes { get; }

    /// <summary>Invalidations and direct sets: the client's own timeout; refused at once while the circuit is open.</summary>
    public StoreLane Operations { get; }
}

/// <summary>One way of calling Redis: through the connection's circuit breaker, with or without a timeout of its own.</summary>
internal sealed class StoreLane(CircuitBreaker breaker, TimeSpan? timeout, TimeProvider time)
{
    /// <summary>
    /// Starts a call to the client and awaits it through the lane. Whatever the client throws, a timeout of the lane and
    /// an open circuit become <see cref="CacheStoreException"/>; only the caller's own cancellation stays a cancellation.
    /// The lane's timeout only stops the wait: StackExchange.Redis cannot cancel a command, which completes or fails on
    /// its own.
    /// </summary>
    public async Task<T> RunAsync<TState, T>(Func<TState, Task<T>> start, TState state, CancellationToken cancellationToken)
    {
        if (!breaker.TryEnter(out bool probe))
        {
            throw new CacheStoreException("Redis is considered unavailable (the circuit is open): nothing was sent.");
        }

        try
        {
            Task<T> call = start(state);
            T result = timeout is { } limit
                ? await call.WaitAsync(limit, time, cancellationToken).ConfigureAwait(false)
                : cancellationToken.CanBeCanceled ? await call.WaitAsync(cancellationToken).ConfigureAwait(false) : await call.ConfigureAwait(false);
            breaker.Succeeded(probe);
            return result;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            breaker.Abandoned(probe);
            throw;
        }
        catch (TimeoutException ex)
        {
            breaker.Failed(probe);
            throw new CacheStoreException($"Redis did not answer within {timeout?.TotalMilliseconds ?? 0}ms.", ex);
        }
        catch (Exception ex) when (ex is CacheStoreException || RedisCall.IsStoreFailure(ex))
        {
            breaker.Failed(probe);
            throw ex as CacheStoreException ?? new CacheStoreException("Redis failed: " + ex.Message, ex);
        }
    }

    /// <summary>As <see cref="RunAsync{TState, T}"/>, for a call that needs no state.</summary>
    public Task<T> RunAsync<T>(Func<Task<T>> start, CancellationToken cancellationToken) =>
        RunAsync(static s => s(), start, cancellationToken);
}
