using CacheInvalidation.PostgreSql;
using Npgsql;

namespace CacheInvalidation.Events;

/// <summary>The outbox relay on PostgreSQL.</summary>
public static class OutboxRelayOptionsPostgreSqlExtensions
{
    /// <summary>
    /// Relays from PostgreSQL: connections from <paramref name="dataSource"/>, <see cref="OutboxDialect.PostgreSql"/>
    /// (row locks with <c>SKIP LOCKED</c>: any number of relays, each row published once), and a
    /// <see cref="PostgreSqlOutboxWakeSignal"/> so the relay publishes on commit rather than at its next poll. Set
    /// <see cref="OutboxRelayOptions.TableName"/> before calling it. Create the table with
    /// <c>new InvalidationOutbox(table, OutboxDialect.PostgreSql).EnsureSchemaAsync(connection)</c>.
    /// </summary>
    /// <param name="options">The relay's options.</param>
    /// <param name="dataSource">The application's Npgsql data source (it outlives the relay).</param>
    /// <param name="notifyOnCommit">
    /// True (the default): the relay wakes on each commit (lowest lag). False: <see cref="OutboxDialect.PostgreSqlPolling"/>
    /// — no notification, the relay polls every <see cref="OutboxRelayOptions.PollInterval"/> (set it to 10–20 ms); for
    /// databases committing thousands of outbox transactions per second, whose commits the notification would serialize.
    /// Create the schema with the same dialect.
    /// </param>
    /// <returns>The options.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><see cref="OutboxRelayOptions.TableName"/> is not a plain SQL identifier.</exception>
    public static OutboxRelayOptions UsePostgreSql(this OutboxRelayOptions options, NpgsqlDataSource dataSource, bool notifyOnCommit = true)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(dataSource);
        options.Dialect = notifyOnCommit ? OutboxDialect.PostgreSql : OutboxDialect.PostgreSqlPolling;
        options.OpenConnection = async cancellationToken => await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        options.WakeSignal = notifyOnCommit ? new PostgreSqlOutboxWakeSignal(dataSource, options.TableName) : null;
        return options;
    }
}
