using System.Data.Common;
using System.Globalization;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Events;

/// <summary>
/// The transactional outbox: appends invalidation events to a table inside the caller's own database transaction, so an
/// event exists if and only if the change it describes committed. Works with any ADO.NET provider whose SQL accepts
/// <c>CREATE TABLE IF NOT EXISTS</c> and <c>LIMIT</c> (SQLite, PostgreSQL, MySQL); the schema is:
/// <code>
/// CREATE TABLE IF NOT EXISTS cache_invalidation_outbox (
///   id            VARCHAR(64) PRIMARY KEY,   -- the event id
///   created_ticks BIGINT NOT NULL,           -- UTC ticks at append, relay order
///   payload       TEXT NOT NULL,             -- the event as JSON
///   dispatched_at VARCHAR(40) NULL           -- set by the relay once Redis acknowledged it
/// );
/// </code>
/// </summary>
public sealed class InvalidationOutbox
{
    /// <summary>Creates an outbox over <paramref name="tableName"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="tableName"/> is not a plain SQL identifier.</exception>
    public InvalidationOutbox(string tableName = "cache_invalidation_outbox")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tableName);
        if (!tableName.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            throw new ArgumentException("The table name must be a plain SQL identifier (letters, digits, '_').", nameof(tableName));
        }

        TableName = tableName;
    }

    /// <summary>The outbox table.</summary>
    public string TableName { get; }

    /// <summary>Creates the table if it does not exist.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is null.</exception>
    public async Task EnsureSchemaAsync(DbConnection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using DbCommand command = connection.CreateCommand();
        command.CommandText =
            $"CREATE TABLE IF NOT EXISTS {TableName} (id VARCHAR(64) PRIMARY KEY, created_ticks BIGINT NOT NULL, payload TEXT NOT NULL, dispatched_at VARCHAR(40) NULL)";
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
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
    private static void Validate(InvalidationEvent e)
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
