using System.Collections.Concurrent;

namespace CacheInvalidation.Strategies;

/// <summary>
/// In-process stampede control: concurrent reads of one entry share one flight (one Redis read and, on a miss, one
/// factory call). A flight's result or exception reaches every caller that joined it; the next call starts a new one.
/// A caller that stops waiting leaves the flight, and when the last caller has left, the factory's token is cancelled
/// (as HybridCache does). An invalidation detaches the flights it concerns, so no caller that arrives after it joins a
/// flight that began before it.
/// </summary>
internal sealed class FlightCoalescer
{
    private readonly ConcurrentDictionary<string, Flight> _flights = new(StringComparer.Ordinal);

    /// <summary>Joins the flight of <paramref name="key"/>, or starts one running <paramref name="operation"/>.</summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="argument">Passed to <paramref name="operation"/>, so the caller needs no closure.</param>
    /// <param name="sources">The dependency indexes this caller's value depends on; see <see cref="Flight{T}.CloseSources"/>.</param>
    /// <param name="operation">The flight's work; it gets the flight for its token and sources.</param>
    /// <param name="cancellationToken">Stops this caller's wait, and leaves the flight.</param>
    public Task<T> RunAsync<TArg, T>(string key, TArg argument, string[]? sources, Func<TArg, Flight<T>, Task<T>> operation, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_flights.TryGetValue(key, out Flight? existing))
            {
                if (existing is not Flight<T> typed)
                {
                    // The same key read as another type at the same time cannot share a value: run alone.
                    return Start(new Flight<T>(this, key, sources), argument, operation).WaitAsync(cancellationToken);
                }

                if (typed.TryJoin(sources))
                {
                    return typed.WaitAsync(cancellationToken);
                }

                // Abandoned by all its callers a moment ago: it is on its way out.
                Forget(key, existing);
                continue;
            }

            var flight = new Flight<T>(this, key, sources);
            if (_flights.TryAdd(key, flight))
            {
                return Start(flight, argument, operation).WaitAsync(cancellationToken);
            }
        }
    }

    /// <summary>New callers for this key start a new flight; the running one finishes for the callers it has.</summary>
    public void Detach(string key) => _flights.TryRemove(key, out _);

    /// <summary>Detaches every flight (after an invalidation that may concern any entry).</summary>
    public void DetachAll() => _flights.Clear();

    internal void Forget(string key, Flight flight) => _flights.TryRemove(new KeyValuePair<string, Flight>(key, flight));

    private static Flight<T> Start<TArg, T>(Flight<T> flight, TArg argument, Func<TArg, Flight<T>, Task<T>> operation)
    {
        Task<T> work;
        try
        {
            work = operation(argument, flight);
        }
#pragma warning disable CA1031 // Handed to every caller through the flight.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            work = Task.FromException<T>(ex);
        }

        flight.Complete(work);
        return flight;
    }
}

/// <summary>A flight of any type, as the coalescer stores it.</summary>
internal abstract class Flight
{
}

/// <summary>
/// One shared load: its callers, the token its factory gets, and the dependency sources of its callers. Sources are
/// registered once, just before the factory runs (<see cref="CloseSources"/>); a caller that joins while the factory runs
/// with a source not registered makes the value unwritable — it could already have been read from that source before an
/// invalidation that the index would not have seen — so it is returned to the callers but not cached
/// (<see cref="CloseForWrite"/>).
/// </summary>
internal sealed class Flight<T>(FlightCoalescer owner, string key, string[]? sources) : Flight
{
    // Every hit runs through a flight: what only a miss or a departing caller needs is created on first use.
    private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private HashSet<string>? _sources = sources is null ? null : new(sources, StringComparer.Ordinal);
    private CancellationTokenSource? _cancellation;
    private int _callers = 1;
    private bool _abandoned;
    private bool _sourcesClosed;
    private bool _unwritable;
    private bool _writeDecided;

    /// <summary>Cancelled when every caller has left before the flight completed.</summary>
    public CancellationToken Token
    {
        get
        {
            lock (_completion)
            {
                _cancellation ??= new CancellationTokenSource();
                if (_abandoned)
                {
                    _cancellation.Cancel();
                }

                return _cancellation.Token;
            }
        }
    }

    /// <summary>
    /// Decides, once the value is computed, whether it may be written: not when a caller joined with a source that was not
    /// registered before the factory ran. Callers that join from now on are like readers that come after the write: they
    /// get the value as it is cached.
    /// </summary>
    public bool CloseForWrite()
    {
        lock (_completion)
        {
            _writeDecided = true;
            return !_unwritable;
        }
    }

    /// <summary>The sources to register now, before the factory runs; later callers' new sources make the value unwritable.</summary>
    public string[]? CloseSources()
    {
        lock (_completion)
        {
            _sourcesClosed = true;
            return _sources is { Count: > 0 } ? [.. _sources] : null;
        }
    }

    internal bool TryJoin(string[]? sources)
    {
        lock (_completion)
        {
            if (_abandoned)
            {
                return false;
            }

            _callers++;
            foreach (string source in sources ?? [])
            {
                if (!_sourcesClosed)
                {
                    (_sources ??= new(StringComparer.Ordinal)).Add(source);
                }
                else if (!_writeDecided && (_sources is null || !_sources.Contains(source)))
                {
                    _unwritable = true;
                }
            }

            return true;
        }
    }

    internal Task<T> WaitAsync(CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled ? WaitOrLeaveAsync(cancellationToken) : _completion.Task;

    internal void Complete(Task<T> work) => _ = CompleteAsync(work);

    private async Task<T> WaitOrLeaveAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Leave();
            throw;
        }
    }

    private void Leave()
    {
        CancellationTokenSource? cancellation;
        lock (_completion)
        {
            if (--_callers > 0 || _completion.Task.IsCompleted)
            {
                return;
            }

            _abandoned = true;
            cancellation = _cancellation;
        }

        owner.Forget(key, this);
        cancellation?.Cancel();
    }

    private async Task CompleteAsync(Task<T> work)
    {
        T result;
        try
        {
            result = await work.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Handed to every caller through the task.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            owner.Forget(key, this);
            _completion.TrySetException(ex);
            return;
        }

        // Forgotten before it completes, so a caller that comes after the result starts a new flight.
        owner.Forget(key, this);
        _completion.TrySetResult(result);
    }
}
