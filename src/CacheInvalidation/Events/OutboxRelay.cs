using System.Data.Common;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CacheInvalidation.Events;

/// <summary>
/// Publishes committed outbox rows to the Redis Stream and marks each dispatched only after Redis acknowledged it:
/// at least once. A crash between the publish and the mark publishes the row again on the next pass — a duplicate the
/// consumer recognizes by event id — and never loses it.
/// </summary>
public sealed class OutboxRelay
{
    private readonly OutboxRelayOptions _options;
    private readonly RedisEventStream _stream;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    internal OutboxRelay(OutboxRelayOptions options, RedisEventStream stream, ILogger? logger, TimeProvider? timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.OpenConnection is null)
        {
            throw new ArgumentException("OutboxRelayOptions.OpenConnection is required.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.BatchSize, nameof(options.BatchSize));
        _ = new InvalidationOutbox(options.TableName); // validates the table name
        _options = options;
        _stream = stream;
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Called after a row was published and before it is marked; tests stop here to act out a crash.</summary>
    internal Func<string, Task>? AfterPublish { get; set; }

    /// <summary>Publishes up to one batch of undispatched rows, oldest first.</summary>
    /// <returns>How many rows were published and marked.</returns>
    /// <exception cref="CacheStoreException">Redis failed; the rows stay undispatched and are published on a later pass.</exception>
    public async Task<int> RelayOnceAsync(CancellationToken cancellationToken = default)
    {
        await using DbConnection connection = await _options.OpenConnection!(cancellationToken).ConfigureAwait(false);
        var rows = new List<(string Id, string Payload)>();
        await using (DbCommand select = connection.CreateCommand())
        {
            select.CommandText = $"SELECT id, payload FROM {_options.TableName} WHERE dispatched_at IS NULL ORDER BY created_ticks, id LIMIT {_options.BatchSize}";
            await using DbDataReader reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        if (rows.Count == 0)
        {
            return 0;
        }

        // Issued together on one connection: Redis appends them in this order, in one round trip.
        await Task.WhenAll(rows.Select(row => _stream.PublishAsync(row.Id, row.Payload))).ConfigureAwait(false);
        if (AfterPublish is { } hook)
        {
            await hook(rows[0].Id).ConfigureAwait(false);
        }

        // Marked only after Redis acknowledged every one; a crash before this commit republishes the batch (duplicates,
        // never losses). One transaction, so the database pays one commit per batch.
        await using DbTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        string at = InvalidationOutbox.Timestamp(_time.GetUtcNow());
        foreach ((string id, _) in rows)
        {
            await using DbCommand mark = connection.CreateCommand();
            mark.Transaction = transaction;
            mark.CommandText = $"UPDATE {_options.TableName} SET dispatched_at = @at WHERE id = @id";
            InvalidationOutbox.AddParameter(mark, "@at", at);
            InvalidationOutbox.AddParameter(mark, "@id", id);
            await mark.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return rows.Count;
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

            if (published == 0)
            {
                try
                {
                    await Task.Delay(_options.PollInterval, _time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
