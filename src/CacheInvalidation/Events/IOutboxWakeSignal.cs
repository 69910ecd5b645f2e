namespace CacheInvalidation.Events;

/// <summary>Tells the outbox relay that rows may have been committed, so it publishes them without waiting for its next poll.</summary>
public interface IOutboxWakeSignal
{
    /// <summary>
    /// Completes when rows may have been committed since the last call, or after <paramref name="timeout"/> (the relay
    /// polls then anyway: a lost notification only delays). Throws <see cref="OperationCanceledException"/> when cancelled.
    /// </summary>
    Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken);
}
