using System.Data.Common;

namespace CacheInvalidation.Events;

/// <summary>Options of the <see cref="OutboxRelay"/>.</summary>
public sealed class OutboxRelayOptions
{
    /// <summary>Opens a connection to the database that holds the outbox (required); the relay disposes it after each pass.</summary>
    public Func<CancellationToken, Task<DbConnection>>? OpenConnection { get; set; }

    /// <summary>The outbox's SQL: <see cref="OutboxDialect.Sqlite"/> (the default) or <see cref="OutboxDialect.PostgreSql"/>.</summary>
    public OutboxDialect Dialect { get; set; } = OutboxDialect.Sqlite;

    /// <summary>The outbox table.</summary>
    public string TableName { get; set; } = "cache_invalidation_outbox";

    /// <summary>The Redis Stream events are published to; <c>{KeyPrefix}:events</c> when null.</summary>
    public string? StreamKey { get; set; }

    /// <summary>Rows published per pass (1–10,000; default 100).</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>Pause between passes that found nothing to publish, unless <see cref="WakeSignal"/> says rows arrived sooner.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long a lease on claimed rows holds (lease dialects such as SQLite; default 30 s): a relay that dies mid-batch
    /// leaves its rows to the others once it ends — published again, at least once. Longer than a pass ever takes.
    /// </summary>
    public TimeSpan ClaimTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long dispatched rows are kept before the relay deletes them (default 1 h; null keeps them forever). Deletion
    /// runs in bounded batches through an index on the dispatched time, at most every tenth of the period (1 s – 1 min).
    /// </summary>
    public TimeSpan? DispatchedRetention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Wakes the relay when rows were committed, instead of waiting for the next poll: for PostgreSQL,
    /// <c>CacheInvalidation.PostgreSql</c>'s <c>LISTEN</c> on the table's insert notifications. Null: polling only.
    /// </summary>
    public IOutboxWakeSignal? WakeSignal { get; set; }

    /// <summary>This relay's name in its leases; unique per process by default.</summary>
    public string RelayId { get; set; } = Environment.MachineName + ":" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>What is wrong with these options, each naming the option; empty when valid.</summary>
    internal IEnumerable<string> Validate()
    {
        if (OpenConnection is null)
        {
            yield return $"{nameof(OutboxRelayOptions)}.{nameof(OpenConnection)} is required.";
        }

        if (Dialect is null)
        {
            yield return $"{nameof(OutboxRelayOptions)}.{nameof(Dialect)} is required.";
        }

        if (BatchSize is < 1 or > 10_000)
        {
            yield return $"{nameof(OutboxRelayOptions)}.{nameof(BatchSize)} must be in [1, 10,000]; it is {BatchSize}.";
        }

        if (PollInterval <= TimeSpan.Zero)
        {
            yield return $"{nameof(OutboxRelayOptions)}.{nameof(PollInterval)} must be positive; it is {PollInterval}.";
        }

        if (ClaimTimeout < TimeSpan.FromSeconds(1))
        {
            yield return $"{nameof(OutboxRelayOptions)}.{nameof(ClaimTimeout)} must be at least 1 s; it is {ClaimTimeout}.";
        }

        if (DispatchedRetention is { } retention && retention < TimeSpan.Zero)
        {
            yield return $"{nameof(OutboxRelayOptions)}.{nameof(DispatchedRetention)} must not be negative; it is {retention}.";
        }

        if (string.IsNullOrWhiteSpace(RelayId) || RelayId.Length > 64)
        {
            yield return $"{nameof(OutboxRelayOptions)}.{nameof(RelayId)} must be 1 to 64 characters.";
        }
    }
}
