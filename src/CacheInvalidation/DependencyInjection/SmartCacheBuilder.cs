using CacheInvalidation;

namespace Microsoft.Extensions.DependencyInjection;

internal sealed class SmartCacheBuilder(IServiceCollection services) : ISmartCacheBuilder
{
    public IServiceCollection Services { get; } = services;
}
