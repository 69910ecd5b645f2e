using System.Data.Common;

namespace CacheInvalidation.Events;

/// <summary>Options of the <see cref="OutboxRelay"/>.</summary>
public sealed class OutboxRelayOptions
{
    /// <summary>Opens a connection to the database that holds the outbox (required); the relay disposes it after each pass.</summary>
    public Func<CancellationToken, Task<DbConnection>>? OpenConnection { get; set; }

    /// <summary>The outbox table.</summary>
    public string TableName { get; set; } = "cache_invalidation_outbox";

    /// <summary>The Redis Stream events are published to; <c>{KeyPrefix}:events</c> when null.</summary>
    public string? StreamKey { get; set; }

    /// <summary>Rows published per pass.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>Pause between passes that found nothing to publish.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(200);
}
