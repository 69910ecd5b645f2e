namespace CacheInvalidation.Tests.Consistency;

/// <summary>What the consistency checker drives: read-through of an entity's version, and invalidation after a write.</summary>
internal interface ICacheUnderTest
{
    Task<int> ReadAsync(int entity, Func<CancellationToken, ValueTask<int>> load);

    /// <summary>Called after the source of <paramref name="entity"/> became <paramref name="version"/>; a direct set writes it.</summary>
    Task InvalidateAsync(int entity, int version);

    /// <summary>Removes the entity's entry, so the next read misses (whatever the kind under test).</summary>
    Task ForgetAsync(int entity);

    /// <summary>The version cached for the entity now, or null when none is.</summary>
    Task<int?> PeekAsync(int entity);

    /// <summary>Waits until every invalidation committed so far has reached this node (its memory included).</summary>
    Task SettleAsync() => Task.CompletedTask;
}

/// <summary>Every way the library can invalidate, as the checker exercises them.</summary>
public enum InvalidationKind
{
    /// <summary><c>InvalidateKeyAsync</c> of the entity's key.</summary>
    Key,

    /// <summary><c>InvalidateSourceAsync</c> of the entity's source (entries depend on <c>entity:N</c>).</summary>
    Source,

    /// <summary><c>InvalidateSourcesAsync</c> of the entity's source and a neighbour's.</summary>
    Sources,

    /// <summary><c>InvalidateNamespaceVersionAsync</c> of the entity's group namespace.</summary>
    NamespaceVersion,

    /// <summary><c>InvalidateNamespaceAsync</c> (scan) of the entity's group namespace.</summary>
    NamespaceScan,

    /// <summary><c>InvalidateAllAsync</c>.</summary>
    All,

    /// <summary><c>PurgeTenantAsync</c> of the cache's tenant.</summary>
    TenantPurge,

    /// <summary><c>PurgeAllTenantsAsync</c> of the cache's prefix.</summary>
    AllTenantsPurge,

    /// <summary><c>SetAsync</c> of the new value (a direct set instead of an invalidation).</summary>
    Set,
}
