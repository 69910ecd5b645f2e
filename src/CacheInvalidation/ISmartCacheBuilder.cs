using Microsoft.Extensions.DependencyInjection;

namespace CacheInvalidation;

/// <summary>Returned by <c>AddSmartCache</c>; add-ons (connection, event consumers, the HybridCache adapter) extend it.</summary>
public interface ISmartCacheBuilder
{
    /// <summary>The service collection the cache is registered in.</summary>
    IServiceCollection Services { get; }

    /// <summary>The cache's name: its service key, and the <c>cacheinvalidation.cache.name</c> of its telemetry; empty for the default cache.</summary>
    string Name { get; }
}
