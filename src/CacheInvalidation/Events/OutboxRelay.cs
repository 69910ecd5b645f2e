using System.Data.Common;
using System.Globalization;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CacheInvalidation.Events;

/// <summary>
/// Publishes committed outbox rows to the Redis Stream and marks each dispatched only after Redis acknowledged it:
/// at least once. Any number of relays (one per application node) may run over the same table: each claims its batch
/// (row locks with <c>SKIP LOCKED</c> on PostgreSQL, a lease otherwise), so each row is published once in the normal
/// case; a relay that dies mid-batch leaves its rows to the others (the lock ends with its transaction, the lease after
/// <see cref="OutboxRelayOptions.ClaimTimeout"/>) — published again, a duplicate the consumer recognizes by event id,
/// never lost. Dispatched rows are deleted after <see cref="OutboxRelayOptions.DispatchedRetention"/>.
/// </summary>
public sealed class OutboxRelay
{
    private const int DeleteBatch = 5_000;

    private readonly OutboxRelayOptions _options;
    private readonly RedisEventStream _stream;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _table;
    private readonly OutboxDialect _dialect;
    private DateTimeOffset _nextCleanup;

    internal OutboxRelay(OutboxRelayOptions options, RedisEventStream stream, ILogger? logger, TimeProvider? timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate().ToList() is { Count: > 0 } failures)
        {
            throw new ArgumentException(string.Join(" ", failures), nameof(options));
        }

        _table = new InvalidationOutbox(options.TableName).TableName; // validates the table name
        _dialect = options.Dialect;
        _options = options;
        _stream = stream;
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Called after a row was published and before it is marked; tests stop here to act out a crash.</summary>
    internal Func<string, Task>? AfterPublish { get; set; }

    /// <summary>Publishes up to one batch of undispatched rows, oldest first, then deletes expired dispatched rows when due.</summary>
    /// <returns>How many rows were published and marked.</returns>
    /// <exception cref="CacheStoreException">Redis failed; the rows stay undispatched and are published on a later pass.</exception>
    public async Task<int> RelayOnceAsync(CancellationToken cancellationToken = default)
    {
        await using DbConnection connection = await _options.OpenConnection!(cancellationToken).ConfigureAwait(false);
        int published = _dialect.LocksRows
            ? await RelayLockedAsync(connection, cancellationToken).ConfigureAwait(false)
            : await RelayLeasedAsync(connection, cancellationToken).ConfigureAwait(false);
        await DeleteExpiredAsync(connection, cancellationToken).ConfigureAwait(false);
        return published;
    }

    /// <summary>Row locks: the rows stay locked (skipped by other relays) until this transaction marks them and commits.</summary>
    private async Task<int> RelayLockedAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        await using DbTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        List<(string Id, string Payload)> rows = await ReadAsync(connection, transaction, _dialect.Claim(_table), cancellationToken, ("@limit", _options.BatchSize)).ConfigureAwait(false);
        if (rows.Count > 0)
        {
            await PublishAsync(rows).ConfigureAwait(false);
            await MarkAsync(connection, transaction, rows, cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return rows.Count;
    }

    /// <summary>Leases: one statement claims the batch for this relay; the mark later applies only to rows still leased to it.</summary>
    private async Task<int> RelayLeasedAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        long now = _time.GetUtcNow().UtcTicks;
        (string, object)[] lease = [("@relay", _options.RelayId), ("@until", now + _options.ClaimTimeout.Ticks)];
        int claimed = await ExecuteAsync(connection, null, _dialect.Claim(_table), cancellationToken, [.. lease, ("@now", now), ("@limit", _options.BatchSize)]).ConfigureAwait(false);
        if (claimed == 0)
        {
            return 0;
        }

        List<(string Id, string Payload)> rows = await ReadAsync(connection, null, _dialect.SelectClaimed(_table), cancellationToken, lease).ConfigureAwait(false);
        if (rows.Count > 0)
        {
            await PublishAsync(rows).ConfigureAwait(false);
            await MarkAsync(connection, null, rows, cancellationToken, lease).ConfigureAwait(false);
        }

        return rows.Count;
    }

    private async Task PublishAsync(List<(string Id, string Payload)> rows)
    {
        // Issued together on one connection: Redis appends them in this order, in one round trip.
        await Task.WhenAll(rows.Select(row => _stream.PublishAsync(row.Id, row.Payload))).ConfigureAwait(false);
        await _stream.AnnounceAsync().ConfigureAwait(false);
        if (AfterPublish is { } hook)
        {
            await hook(rows[0].Id).ConfigureAwait(false);
        }
    }

    /// <summary>Marked only after Redis acknowledged every row: a crash before this republishes the batch (duplicates, never losses).</summary>
    private Task<int> MarkAsync(DbConnection connection, DbTransaction? transaction, List<(string Id, string Payload)> rows, CancellationToken cancellationToken, params (string, object)[] lease)
    {
        IEnumerable<(string, object)> ids = rows.Select((row, i) => ("@id" + i.ToString(CultureInfo.InvariantCulture), (object)row.Id));
        return ExecuteAsync(connection, transaction, _dialect.MarkDispatched(_table, rows.Count), cancellationToken, [.. lease, ("@at", InvalidationOutbox.Timestamp(_time.GetUtcNow())), .. ids]);
    }

    /// <summary>Deletes dispatched rows older than the retention, in bounded batches, at most every tenth of the period.</summary>
    private async Task DeleteExpiredAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        if (_options.DispatchedRetention is not { } retention || now < _nextCleanup)
        {
            return;
        }

        _nextCleanup = now + TimeSpan.FromTicks(Math.Clamp(retention.Ticks / 10, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute));
        string cutoff = InvalidationOutbox.Timestamp(now - retention);
        int deleted;
        do
        {
            deleted = await ExecuteAsync(connection, null, _dialect.DeleteDispatched(_table), cancellationToken, ("@cutoff", cutoff), ("@limit", DeleteBatch)).ConfigureAwait(false);
        }
        while (deleted == DeleteBatch);
    }

    private static async Task<List<(string Id, string Payload)>> ReadAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        var rows = new List<(string Id, string Payload)>();
        await using DbCommand select = Command(connection, transaction, sql, parameters);
        await using DbDataReader reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add((reader.GetString(0), reader.GetString(1)));
        }

        return rows;
    }

    private static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using DbCommand command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, (string Name, object Value)[] parameters)
    {
        DbCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach ((string name, object value) in parameters)
        {
            InvalidationOutbox.AddParameter(command, name, value);
        }

        return command;
    }

    /// <summary>Relays until <paramref name="stoppingToken"/> is cancelled, pausing when there is nothing to publish and after failures.</summary>
    internal async Task RunAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            int published = 0;
            try
            {
                published = await RelayOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A failed pass (database or Redis down) is retried; the rows stay undispatched.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.RelayFailed(_logger, ex);
            }

            if (published < _options.BatchSize)
            {
                try
                {
                    await WaitForRowsAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task WaitForRowsAsync(CancellationToken stoppingToken)
    {
        if (_options.WakeSignal is not { } signal)
        {
            await Task.Delay(_options.PollInterval, _time, stoppingToken).ConfigureAwait(false);
            return;
        }

        try
        {
            await signal.WaitAsync(_options.PollInterval, stoppingToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.RelayWakeFailed(_logger, ex); // a broken listener only costs latency: poll meanwhile
            await Task.Delay(_options.PollInterval, _time, stoppingToken).ConfigureAwait(false);
        }
    }
}
