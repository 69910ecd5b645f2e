using StackExchange.Redis;

namespace CacheInvalidation.Client;

/// <summary>A connection multiplexer the application owns and registered through the builder; the cache never disposes it.</summary>
internal sealed class ExistingMultiplexer(Func<IServiceProvider, IConnectionMultiplexer> factory)
{
    public IConnectionMultiplexer Resolve(IServiceProvider services) => factory(services);
}
