using CacheInvalidation;
using CacheInvalidation.Client;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Add-ons for <see cref="ISmartCacheBuilder"/>.</summary>
public static class SmartCacheBuilderExtensions
{
    /// <summary>
    /// Uses the application's own connection multiplexer (one per application is the StackExchange.Redis advice)
    /// instead of <see cref="SmartCacheOptions.Configuration"/>. The cache never disposes it.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static ISmartCacheBuilder WithConnectionMultiplexer(this ISmartCacheBuilder builder, IConnectionMultiplexer multiplexer)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);
        return builder.WithConnectionMultiplexer(_ => multiplexer);
    }

    /// <summary>Uses a connection multiplexer resolved from the container (e.g. one registered by the application).</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static ISmartCacheBuilder WithConnectionMultiplexer(this ISmartCacheBuilder builder, Func<IServiceProvider, IConnectionMultiplexer> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.AddKeyedSingleton(builder.Name, new ExistingMultiplexer(factory));
        return builder;
    }
}
