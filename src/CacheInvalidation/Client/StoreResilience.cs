using CacheInvalidation.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace CacheInvalidation.Client;

/// <summary>
/// The resilience of one Redis connection: one circuit breaker, shared by every call made on it, and two lanes through
/// it — <see cref="Reads"/>, with the soft read timeout, for the calls a reader waits on, and <see cref="Operations"/>,
/// breaker only, for writes and invalidations (which report their failure to the caller instead of falling back).
/// </summary>
internal sealed class StoreResilience
{
    public StoreResilience(CacheResilienceOptions options, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        ILogger log = logger ?? NullLogger.Instance;
        ResiliencePipeline breaker = new ResiliencePipelineBuilder { TimeProvider = timeProvider ?? TimeProvider.System }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = options.FailureRatio,
                MinimumThroughput = options.MinimumThroughput,
                SamplingDuration = options.SamplingDuration,
                BreakDuration = options.BreakDuration,
                ShouldHandle = new PredicateBuilder().Handle<CacheStoreException>().Handle<TimeoutRejectedException>(),
                OnOpened = args =>
                {
                    CacheMetrics.Circuit("opened");
                    Log.CircuitOpened(log, (long)args.BreakDuration.TotalMilliseconds, args.Outcome.Exception);
                    return default;
                },
                OnHalfOpened = _ =>
                {
                    CacheMetrics.Circuit("half-opened");
                    return default;
                },
                OnClosed = _ =>
                {
                    CacheMetrics.Circuit("closed");
                    Log.CircuitClosed(log);
                    return default;
                },
            })
            .Build();
        Operations = new StoreLane(breaker, null);
        Reads = new StoreLane(
            new ResiliencePipelineBuilder { TimeProvider = timeProvider ?? TimeProvider.System }
                .AddPipeline(breaker) // outermost, so it counts the read timeouts below as failures
                .AddTimeout(options.ReadTimeout)
                .Build(),
            options.ReadTimeout);
    }

    /// <summary>The calls a reader waits on: soft timeout, then the caller falls back to the source.</summary>
    public StoreLane Reads { get; }

    /// <summary>Writes and invalidations: the client's own timeout; refused at once while the circuit is open.</summary>
    public StoreLane Operations { get; }
}

/// <summary>One way of calling Redis: through the connection's circuit breaker, with or without a timeout of its own.</summary>
internal sealed class StoreLane(ResiliencePipeline pipeline, TimeSpan? timeout)
{
    /// <summary>
    /// Starts a call to the client and awaits it through the lane. Whatever the client throws, a timeout of the lane and
    /// an open circuit become <see cref="CacheStoreException"/>; only the caller's own cancellation stays a cancellation.
    /// </summary>
    public async Task<T> RunAsync<TState, T>(Func<TState, Task<T>> start, TState state, CancellationToken cancellationToken)
    {
        try
        {
            return await pipeline.ExecuteAsync(
                static (s, token) => new ValueTask<T>(RedisCall.Run(s.Start, s.State, token)),
                (Start: start, State: state),
                cancellationToken).ConfigureAwait(false);
        }
        catch (BrokenCircuitException ex)
        {
            throw new CacheStoreException("Redis is considered unavailable (the circuit is open): nothing was sent. " + ex.Message, ex);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new CacheStoreException($"Redis did not answer within {timeout?.TotalMilliseconds}ms.", ex);
        }
    }

    /// <summary>As <see cref="RunAsync{TState, T}"/>, for a call that needs no state.</summary>
    public Task<T> RunAsync<T>(Func<Task<T>> start, CancellationToken cancellationToken) =>
        RunAsync(static s => s(), start, cancellationToken);
}
