using System.Data.Common;
using System.Globalization;

namespace CacheInvalidation.Events;

/// <summary>
/// The SQL of the outbox for one database: its schema (table, the partial indexes that keep polls and clean-ups
/// O(pending) and O(expired) instead of O(table)), how a relay claims rows so that each is published once by one of many
/// relays, and how dispatched rows are removed. SQL text only: the core package carries no database driver. Each dialect
/// is tested against a real server (SQLite through Microsoft.Data.Sqlite, PostgreSQL 15 through Npgsql).
/// </summary>
public abstract class OutboxDialect
{
    private protected OutboxDialect()
    {
    }

    /// <summary>SQLite (the embedded default): relays claim rows with a lease (<see cref="OutboxRelayOptions.ClaimTimeout"/>).</summary>
    public static OutboxDialect Sqlite { get; } = new SqliteOutboxDialect();

    /// <summary>
    /// PostgreSQL 14+: relays claim rows with <c>FOR UPDATE SKIP LOCKED</c> inside the publishing transaction (a relay that
    /// dies releases them at once), and the table notifies <see cref="NotificationChannel"/> on commit of each insert, so
    /// a listening relay (<c>CacheInvalidation.PostgreSql</c>) wakes at once instead of at its next poll.
    /// </summary>
    public static OutboxDialect PostgreSql { get; } = new PostgreSqlOutboxDialect(notifyOnCommit: true);

    /// <summary>
    /// PostgreSQL without the insert notification (its schema drops the trigger if an earlier one created it): relays
    /// poll. PostgreSQL serializes the commits of every transaction that notifies (a database-wide lock held until the
    /// commit is flushed), so a database committing thousands of outbox transactions per second writes faster without
    /// it — at the cost of the relay's poll interval in lag (docs/benchmarks.md has both).
    /// </summary>
    public static OutboxDialect PostgreSqlPolling { get; } = new PostgreSqlOutboxDialect(notifyOnCommit: false);

    /// <summary>The channel the table's insert trigger notifies (PostgreSQL): <c>{table}_inserted</c>.</summary>
    public static string NotificationChannel(string tableName) => tableName + "_inserted";

    /// <summary>The dialect's name, for messages.</summary>
    public abstract string Name { get; }

    /// <summary>Whether a claim is a row lock held by the publishing transaction (true) or a lease written to the row.</summary>
    internal abstract bool LocksRows { get; }

    /// <summary>Statements creating the table, its indexes (and trigger), and adding what a version 0.1 table lacks; each idempotent.</summary>
    internal abstract IEnumerable<string> Schema(string table);

    /// <summary>Runs <see cref="Schema"/> in one transaction (concurrent start-ups of several nodes serialize on it).</summary>
    internal virtual async Task EnsureSchemaAsync(DbConnection connection, string table, CancellationToken cancellationToken)
    {
        await using DbTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (string statement in Schema(table))
        {
            await ExecuteAsync(connection, transaction, statement, cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Row locks: selects the oldest pending rows (at most <c>@limit</c>) and locks them, skipping those another relay
    /// holds. Leases: marks the oldest pending rows not leased (or whose lease ended before <c>@now</c>, or leased by this
    /// relay in a pass that failed) as leased by <c>@relay</c> until <c>@until</c>; <see cref="SelectClaimed"/> then reads them.
    /// </summary>
    internal abstract string Claim(string table);

    /// <summary>The rows <c>@relay</c> leased until <c>@until</c> (lease dialects).</summary>
    internal virtual string SelectClaimed(string table) =>
        $"SELECT id, payload FROM {table} WHERE dispatched_at IS NULL AND claimed_by = @relay AND claimed_until = @until ORDER BY created_ticks, id";

    /// <summary>Marks the claimed rows dispatched (<c>@at</c>); lease dialects only those still leased to this relay.</summary>
    internal abstract string MarkDispatched(string table, int rows);

    /// <summary>Deletes at most <c>@limit</c> rows dispatched before <c>@cutoff</c>, oldest first (through the dispatched index).</summary>
    internal virtual string DeleteDispatched(string table) =>
        $"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE dispatched_at IS NOT NULL AND dispatched_at < @cutoff ORDER BY dispatched_at LIMIT @limit)";

    /// <inheritdoc/>
    public override string ToString() => Name;

    private protected static async Task<object?> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using DbCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>@id0, @id1, …</c></summary>
    private protected static string IdList(int rows) => string.Join(", ", Enumerable.Range(0, rows).Select(i => "@id" + i));

    private protected static string CreateTable(string table) =>
        $"CREATE TABLE IF NOT EXISTS {table} (id VARCHAR(64) PRIMARY KEY, created_ticks BIGINT NOT NULL, payload TEXT NOT NULL, dispatched_at VARCHAR(40) NULL, claimed_by VARCHAR(64) NULL, claimed_until BIGINT NULL)";

    // Partial indexes: the pending one holds only what is waiting (a poll reads O(pending) entries of it, in relay order);
    // the dispatched one orders what the retention removes.
    private protected static IEnumerable<string> Indexes(string table) =>
    [
        $"CREATE INDEX IF NOT EXISTS {table}_pending ON {table} (created_ticks, id) WHERE dispatched_at IS NULL",
        $"CREATE INDEX IF NOT EXISTS {table}_dispatched ON {table} (dispatched_at) WHERE dispatched_at IS NOT NULL",
    ];

    private sealed class SqliteOutboxDialect : OutboxDialect
    {
        public override string Name => "SQLite";

        internal override bool LocksRows => false;

        internal override IEnumerable<string> Schema(string table) => [CreateTable(table), .. Indexes(table)];

        // A 0.1 table has no lease columns, and SQLite has no ADD COLUMN IF NOT EXISTS: they are added when missing.
        internal override async Task EnsureSchemaAsync(DbConnection connection, string table, CancellationToken cancellationToken)
        {
            await using DbTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, CreateTable(table), cancellationToken).ConfigureAwait(false);
            foreach ((string column, string type) in new[] { ("claimed_by", "VARCHAR(64)"), ("claimed_until", "BIGINT") })
            {
                object? present = await ExecuteAsync(connection, transaction, $"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = '{column}'", cancellationToken).ConfigureAwait(false);
                if (Convert.ToInt64(present, CultureInfo.InvariantCulture) == 0)
                {
                    await ExecuteAsync(connection, transaction, $"ALTER TABLE {table} ADD COLUMN {column} {type} NULL", cancellationToken).ConfigureAwait(false);
                }
            }

            foreach (string index in Indexes(table))
            {
                await ExecuteAsync(connection, transaction, index, cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        internal override string Claim(string table) =>
            $"UPDATE {table} SET claimed_by = @relay, claimed_until = @until WHERE id IN (SELECT id FROM {table} WHERE dispatched_at IS NULL AND (claimed_until IS NULL OR claimed_until < @now OR claimed_by = @relay) ORDER BY created_ticks, id LIMIT @limit)";

        internal override string MarkDispatched(string table, int rows) =>
            $"UPDATE {table} SET dispatched_at = @at, claimed_by = NULL, claimed_until = NULL WHERE claimed_by = @relay AND claimed_until = @until AND id IN ({IdList(rows)})";
    }

    private sealed class PostgreSqlOutboxDialect(bool notifyOnCommit) : OutboxDialect
    {
        public override string Name => notifyOnCommit ? "PostgreSQL" : "PostgreSQL (polling)";

        internal override bool LocksRows => true;

        internal override IEnumerable<string> Schema(string table) =>
        [
            $"SELECT pg_advisory_xact_lock(hashtext('{table}'))", // concurrent start-ups would race on CREATE … IF NOT EXISTS
            CreateTable(table),
            $"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS claimed_by VARCHAR(64) NULL",
            $"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS claimed_until BIGINT NULL",
            .. Indexes(table),
            .. notifyOnCommit ? Notification(table) : [$"DROP TRIGGER IF EXISTS {table}_inserted ON {table}"],
        ];

        // One notification per inserting statement, delivered when (and only if) its transaction commits.
        private static string[] Notification(string table) =>
        [
            $"""
            CREATE OR REPLACE FUNCTION {table}_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_notify('{NotificationChannel(table)}', ''); RETURN NULL; END $$
            """,
            $"CREATE OR REPLACE TRIGGER {table}_inserted AFTER INSERT ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {table}_notify()",
        ];

        internal override string Claim(string table) =>
            $"SELECT id, payload FROM {table} WHERE dispatched_at IS NULL ORDER BY created_ticks, id LIMIT @limit FOR UPDATE SKIP LOCKED";

        internal override string MarkDispatched(string table, int rows) =>
            $"UPDATE {table} SET dispatched_at = @at WHERE id IN ({IdList(rows)})";
    }
}
