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

    /// <summary>
    /// Reads <see cref="SmartCacheOptions.SuspendAggressiveInvalidation"/> as configured now, so a configuration reload
    /// flips the kill switch without a restart. A reload that fails validation keeps the last value read.
    /// </summary>
    public Func<bool> SuspendedByOptions(IServiceProvider services)
    {
        IOptionsMonitor<SmartCacheOptions> monitor = services.GetRequiredService<IOptionsMonitor<SmartCacheOptions>>();
        string name = Name;
        bool last = monitor.Get(name).SuspendAggressiveInvalidation;
        return () =>
        {
            try
            {
                return last = monitor.Get(name).SuspendAggressiveInvalidation;
            }
            catch (OptionsValidationException)
            {
                return last;
            }
        };
    }
}
