using System.Collections.Concurrent;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Strategies;

/// <summary>
/// In-process stampede control: concurrent reads of one key share one flight (one Redis read and, on a miss, one
/// factory call). A caller that stops waiting does not stop the flight; a flight's exception reaches every caller that
/// joined it, and the next call starts a new flight. An invalidation detaches the flights it concerns, so no caller
/// that arrives after it joins a flight that began before it.
/// </summary>
internal sealed class FlightCoalescer
{
    private readonly ConcurrentDictionary<(VersionScope Scope, string Id), Task> _flights = new();

    public Task<T> Run<TArg, T>(EntryAddress address, TArg argument, Func<TArg, Task<T>> operation)
    {
        var key = (address.Scope, address.EntryKeySuffix);
        while (true)
        {
            if (_flights.TryGetValue(key, out Task? existing))
            {
                // The same key read as another type at the same time cannot share a value: run alone.
                return existing as Task<T> ?? Start(argument, operation);
            }

            var flight = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_flights.TryAdd(key, flight.Task))
            {
                _ = CompleteAsync(key, flight, Start(argument, operation));
                return flight.Task;
            }
        }
    }

    /// <summary>New callers for this key start a new flight; the running one finishes for the callers it has.</summary>
    public void Detach(EntryAddress address) => _flights.TryRemove((address.Scope, address.EntryKeySuffix), out _);

    /// <summary>Detaches every flight (after a version bump).</summary>
    public void DetachAll() => _flights.Clear();

    private static Task<T> Start<TArg, T>(TArg argument, Func<TArg, Task<T>> operation)
    {
        try
        {
            return operation(argument);
        }
#pragma warning disable CA1031 // Handed to every caller through the task.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Task.FromException<T>(ex);
        }
    }

    private async Task CompleteAsync<T>((VersionScope, string) key, TaskCompletionSource<T> flight, Task<T> work)
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
            Forget(key, flight);
            flight.TrySetException(ex);
            return;
        }

        // Forgotten before it completes, so a caller that comes after the result starts a new flight.
        Forget(key, flight);
        flight.TrySetResult(result);
    }

    private void Forget<T>((VersionScope, string) key, TaskCompletionSource<T> flight) =>
        _flights.TryRemove(new KeyValuePair<(VersionScope, string), Task>(key, flight.Task));
}
