namespace CacheInvalidation.Events;

/// <summary>
/// A change in the source of truth that cached data must follow. Written to the outbox in the same transaction as the
/// change, relayed to a Redis Stream and applied by the consumer: at least once, idempotently (by <see cref="Id"/>)
/// and order-safely (by <see cref="EntityVersion"/> per <see cref="Entity"/>). Serialized as versioned JSON; unknown
/// fields from newer writers are ignored.
/// </summary>
public sealed record InvalidationEvent
{
    /// <summary>The JSON schema version this library writes.</summary>
    public const int CurrentSchema = 1;

    /// <summary>Unique id; a duplicate delivery with the same id has no second effect.</summary>
    public string Id { get; init; } = Guid.NewGuid().ToString("N");

    /// <summary>What happened, e.g. <c>product.updated</c>; handlers registered for the type add invalidations.</summary>
    public required string Type { get; init; }

    /// <summary>The tenant whose cache is affected; null for the consumer's configured tenant.</summary>
    public string? Tenant { get; init; }

    /// <summary>The entity that changed (e.g. <c>product:42</c>), for ordering; null when order does not matter.</summary>
    public string? Entity { get; init; }

    /// <summary>The entity's version after the change; an event older than one already applied for the entity is ignored.</summary>
    public long EntityVersion { get; init; }

    /// <summary>Cache keys to invalidate.</summary>
    public IReadOnlyList<EventKey> Keys { get; init; } = [];

    /// <summary>Dependency sources to invalidate (<c>product:42</c>).</summary>
    public IReadOnlyList<string> Sources { get; init; } = [];

    /// <summary>Namespaces to invalidate (scan, or version bump while scans are paused).</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = [];

    /// <summary>Invalidate every entry of the tenant (global version bump).</summary>
    public bool InvalidateAll { get; init; }

    /// <summary>When the change happened at the source; the consumer measures lag from it.</summary>
    public DateTimeOffset OccurredAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>The region or service the change came from.</summary>
    public string? Origin { get; init; }

    /// <summary>The schema version of this event's JSON.</summary>
    public int Schema { get; init; } = CurrentSchema;
}

/// <summary>A cache key named in an event: namespace (empty for none) and id, as in <see cref="Keys.CacheKey"/>.</summary>
/// <param name="Namespace">The key's namespace, empty for none.</param>
/// <param name="Id">The key's id.</param>
public sealed record EventKey(string Namespace, string Id);
