using CacheInvalidation.Events;
using Npgsql;

namespace CacheInvalidation.PostgreSql;

/// <summary>
/// Wakes the outbox relay when rows were committed: one connection that <c>LISTEN</c>s on the table's insert channel
/// (<see cref="OutboxDialect.NotificationChannel"/>; the PostgreSQL schema's trigger notifies it on commit). A broken
/// connection is reopened on the next wait; meanwhile the relay polls, so a lost notification only costs latency.
/// </summary>
public sealed class PostgreSqlOutboxWakeSignal : IOutboxWakeSignal, IAsyncDisposable
{
    private const int MaxDrained = 10_000;
    private static readonly TimeSpan DrainWait = TimeSpan.FromMilliseconds(1);

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _channel;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private NpgsqlConnection? _connection;

    /// <summary>Listens for the inserts into <paramref name="tableName"/> through <paramref name="dataSource"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="dataSource"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="tableName"/> is not a plain SQL identifier.</exception>
    public PostgreSqlOutboxWakeSignal(NpgsqlDataSource dataSource, string tableName = "cache_invalidation_outbox")
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
        _channel = OutboxDialect.NotificationChannel(new InvalidationOutbox(tableName, OutboxDialect.PostgreSql).TableName);
    }

    /// <inheritdoc/>
    /// <exception cref="NpgsqlException">The listening connection could not be opened (the relay logs it and polls).</exception>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            NpgsqlConnection connection = _connection ??= await ListenAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                // Returns at the first notification (one buffered since the last wait counts) or after the timeout. Every
                // committed transaction notifies once: those already buffered are drained, so a burst wakes the relay
                // once, not once per commit (its next pass claims them all anyway).
                if (await connection.WaitAsync(timeout, cancellationToken).ConfigureAwait(false))
                {
                    for (int drained = 0; drained < MaxDrained && await connection.WaitAsync(DrainWait, cancellationToken).ConfigureAwait(false); drained++)
                    {
                    }
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or ObjectDisposedException or InvalidOperationException)
            {
                _connection = null;
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Closes the listening connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_connection is { } connection)
            {
                _connection = null;
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<NpgsqlConnection> ListenAsync(CancellationToken cancellationToken)
    {
        NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using NpgsqlCommand listen = connection.CreateCommand();
            listen.CommandText = $"LISTEN {_channel}";
            await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
