namespace CacheInvalidation.EntityFrameworkCore;

/// <summary>One row of the outbox table, as EF Core maps it (the columns of <c>InvalidationOutbox</c>'s schema).</summary>
internal sealed class OutboxMessage
{
    public required string Id { get; init; }

    public long CreatedTicks { get; init; }

    public required string Payload { get; init; }

    public string? DispatchedAt { get; init; }

    public string? ClaimedBy { get; init; }

    public long? ClaimedUntil { get; init; }
}
