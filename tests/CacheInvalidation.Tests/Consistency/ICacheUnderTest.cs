namespace CacheInvalidation.Tests.Consistency;

/// <summary>What the consistency checker drives: read-through of an entity's version, and invalidation after a write.</summary>
internal interface ICacheUnderTest
{
    Task<int> ReadAsync(int entity, Func<CancellationToken, ValueTask<int>> load);

    Task InvalidateAsync(int entity);

    /// <summary>The version cached for the entity now, or null when none is.</summary>
    Task<int?> PeekAsync(int entity);
}
