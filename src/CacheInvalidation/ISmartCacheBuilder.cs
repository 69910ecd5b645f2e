using Microsoft.Extensions.DependencyInjection;

namespace CacheInvalidation;

/// <summary>Returned by <c>AddSmartCache</c>; add-ons (connection, event consumers) extend it.</summary>
public interface ISmartCacheBuilder
{
    /// <summary>The service collection the cache is registered in.</summary>
    IServiceCollection Services { get; }
}
