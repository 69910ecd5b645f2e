using System.Data;
using System.Data.Common;
using System.Globalization;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Events;

/// <summary>
/// The transactional outbox: appends invalidation events to a table inside the caller's own database transaction, so an
/// event exists if and only if the change it describes committed. The SQL of each database is its
/// <see cref="OutboxDialect"/> (SQLite, PostgreSQL); the table is:
/// <code>
/// CREATE TABLE IF NOT EXISTS cache_invalidation_outbox (
///   id            VARCHAR(64) PRIMARY KEY,   -- the event id
///   created_ticks BIGINT NOT NULL,           -- UTC ticks at append, relay order
///   payload       TEXT NOT NULL,             -- the event as JSON
///   dispatched_at VARCHAR(40) NULL,          -- set by the relay once Redis acknowledged it (ISO 8601, UTC)
///   claimed_by    VARCHAR(64) NULL,          -- the relay leasing it (lease dialects)
///   claimed_until BIGINT NULL                -- until when (UTC ticks)
/// );
/// -- partial indexes: pending rows in relay order, dispatched rows by time (for the retention)
/// </code>
/// With EF Core, <c>CacheInvalidation.EntityFrameworkCore</c> appends through <c>SaveChanges</c> instead.
/// </summary>
public sealed class InvalidationOutbox
{
    /// <summary>Creates an outbox over <paramref name="tableName"/>, in SQLite's dialect.</summary>
    /// <exception cref="ArgumentException"><paramref name="tableName"/> is not a plain SQL identifier.</exception>
    public InvalidationOutbox(string tableName = "cache_invalidation_outbox")
        : this(tableName, OutboxDialect.Sqlite)
    {
    }

    /// <summary>Creates an outbox over <paramref name="tableName"/> in <paramref name="dialect"/>.</summary>
    /// <param name="tableName">The outbox table: a plain SQL identifier.</param>
    /// <param name="dialect">The database's SQL: <see cref="OutboxDialect.Sqlite"/> or <see cref="OutboxDialect.PostgreSql"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="tableName"/> is not a plain SQL identifier.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="dialect"/> is null.</exception>
    public InvalidationOutbox(string tableName, OutboxDialect dialect)
    {
        ArgumentNullException.ThrowIfNull(dialect);
        Dialect = dialect;
        ArgumentException.ThrowIfNullOrWhiteSpace(tableName);
        if (!tableName.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            throw new ArgumentException("The table name must be a plain SQL identifier (letters, digits, '_').", nameof(tableName));
        }

        TableName = tableName;
    }

    /// <summary>The outbox table.</summary>
    public string TableName { get; }

    /// <summary>The database's SQL.</summary>
    public OutboxDialect Dialect { get; }

    /// <summary>
    /// Creates the table, its indexes (and on PostgreSQL its insert notification) if they do not exist, and adds the
    /// columns a table created by version 0.1 lacks — in one transaction, so nodes starting together do not race.
    /// </summary>
    /// <param name="connection">A connection to the database, open or closed (then opened and closed again).</param>
    /// <param name="cancellationToken">Stops waiting for the database.</param>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is null.</exception>
    /// <exception cref="DbException">The database refused a statement (the message names it).</exception>
    public async Task EnsureSchemaAsync(DbConnection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        bool opened = connection.State != ConnectionState.Open; // EF Core's GetDbConnection() hands it out closed
        if (opened)
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await Dialect.EnsureSchemaAsync(connection, TableName, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (opened)
            {
                await connection.CloseAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Appends <paramref name="invalidationEvent"/> inside <paramref name="transaction"/>: it is published only if the
    /// transaction commits, and a rollback publishes nothing.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The event names an invalid key, source, namespace or tenant.</exception>
    public async Task AppendAsync(DbTransaction transaction, InvalidationEvent invalidationEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(invalidationEvent);
        Validate(invalidationEvent);
        DbConnection connection = transaction.Connection ?? throw new ArgumentException("The transaction has no connection.", nameof(transaction));

        await using DbCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"INSERT INTO {TableName} (id, created_ticks, payload, dispatched_at) VALUES (@id, @ticks, @payload, NULL)";
        AddParameter(command, "@id", invalidationEvent.Id);
        AddParameter(command, "@ticks", DateTime.UtcNow.Ticks);
        AddParameter(command, "@payload", InvalidationEventJson.Serialize(invalidationEvent));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static void AddParameter(DbCommand command, string name, object value)
    {
        DbParameter parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    internal static string Timestamp(DateTimeOffset time) => time.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>Rejects at the source what the consumer could only dead-letter.</summary>
    internal static void Validate(InvalidationEvent e)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(e.Id, "invalidationEvent.Id");
        ArgumentException.ThrowIfNullOrWhiteSpace(e.Type, "invalidationEvent.Type");
        if (e.Tenant is not null)
        {
            KeyPart.Validate(e.Tenant, "invalidationEvent.Tenant");
        }

        foreach (EventKey key in e.Keys)
        {
            _ = key.Namespace.Length == 0 ? CacheKey.Create(key.Id) : CacheKey.Create(key.Namespace, key.Id);
        }

        foreach (string source in e.Sources)
        {
            KeyPart.ValidateHierarchical(source, "invalidationEvent.Sources");
        }

        foreach (string ns in e.Namespaces)
        {
            KeyPart.ValidateHierarchical(ns, "invalidationEvent.Namespaces");
        }
    }
}
