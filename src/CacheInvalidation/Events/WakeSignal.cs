namespace CacheInvalidation.Events;

/// <summary>
/// An auto-reset signal with a timeout: <see cref="Set"/> from any thread (a pub/sub callback) wakes the one waiter, or
/// the next one if nobody waits yet; a wait that times out just returns.
/// </summary>
internal sealed class WakeSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set() => Volatile.Read(ref _next).TrySetResult();

    /// <summary>Waits for <see cref="Set"/> (one since the last wait counts) or <paramref name="timeout"/>.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        TaskCompletionSource current = Volatile.Read(ref _next);
        try
        {
            await current.Task.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The poll interval passed: the caller looks anyway.
        }

        if (current.Task.IsCompleted)
        {
            Interlocked.CompareExchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), current);
        }
    }
}
