using StackExchange.Redis;

namespace CacheInvalidation.Client;

/// <summary>Awaits a StackExchange.Redis operation and turns whatever the client throws into <see cref="CacheStoreException"/>.</summary>
internal static class RedisCall
{
    /// <remarks>
    /// StackExchange.Redis takes no token: a cancelled caller stops waiting, the command itself still completes. Besides
    /// <see cref="RedisException"/> and <see cref="TimeoutException"/>, a dropped connection fails pending commands with
    /// <see cref="TaskCanceledException"/> or <see cref="InvalidOperationException"/> — only the caller's own cancellation
    /// stays a cancellation.
    /// </remarks>
    public static async Task<T> Run<T>(Task<T> operation, CancellationToken cancellationToken)
    {
        try
        {
            return cancellationToken.CanBeCanceled
                ? await operation.WaitAsync(cancellationToken).ConfigureAwait(false)
                : await operation.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            throw new CacheStoreException("Redis failed: " + ex.Message, ex);
        }
    }

    /// <summary>
    /// Like <see cref="Run{T}(Task{T}, CancellationToken)"/> for a call into the client that may also throw before it
    /// returns a task (a command the server's command map disables, a connection already disposed).
    /// </summary>
    public static Task<T> Run<TState, T>(Func<TState, Task<T>> start, TState state, CancellationToken cancellationToken)
    {
        Task<T> operation;
        try
        {
            operation = start(state);
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            return Task.FromException<T>(new CacheStoreException("Redis failed: " + ex.Message, ex));
        }

        return Run(operation, cancellationToken);
    }

    /// <summary>Whether <paramref name="exception"/> is one the client throws when the server or the connection fails, or refuses a command.</summary>
    public static bool IsStoreFailure(Exception exception) =>
        exception is RedisException or RedisCommandException or TimeoutException or OperationCanceledException or InvalidOperationException or ObjectDisposedException;

    /// <summary>
    /// Groups keys by hash slot on a cluster, where one script or multi-key command may only touch one slot; one group on
    /// a standalone server.
    /// </summary>
    public static IEnumerable<T[]> BySlot<T>(IConnectionMultiplexer multiplexer, bool cluster, IReadOnlyCollection<T> items, Func<T, string> key) =>
        cluster ? items.GroupBy(item => multiplexer.HashSlot(key(item))).Select(group => group.ToArray()) : [items.ToArray()];
}
