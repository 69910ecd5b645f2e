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
    /// <returns>The options.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><see cref="OutboxRelayOptions.TableName"/> is not a plain SQL identifier.</exception>
    public static OutboxRelayOptions UsePostgreSql(this OutboxRelayOptions options, NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(dataSource);
        options.Dialect = OutboxDialect.PostgreSql;
        options.OpenConnection = async cancellationToken => await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        options.WakeSignal = new PostgreSqlOutboxWakeSignal(dataSource, options.TableName);
        return options;
    }
}
