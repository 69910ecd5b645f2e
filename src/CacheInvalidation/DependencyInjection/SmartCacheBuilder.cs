using CacheInvalidation;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>One registered cache; also kept in the container as the record that its name is taken.</summary>
internal sealed class SmartCacheBuilder(IServiceCollection services, string name) : ISmartCacheBuilder
{
    /// <summary>The default cache's name: the options' default name, also its service key.</summary>
    public const string DefaultName = "";

    public IServiceCollection Services { get; } = services;

    public string Name { get; } = name;

    /// <summary>This cache's validated options.</summary>
    public SmartCacheOptions Options(IServiceProvider services) =>
        services.GetRequiredService<IOptionsMonitor<SmartCacheOptions>>().Get(Name);
}
