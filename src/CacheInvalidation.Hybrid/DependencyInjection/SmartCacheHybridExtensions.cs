using CacheInvalidation;
using CacheInvalidation.Hybrid;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The HybridCache adapter for <see cref="ISmartCacheBuilder"/>.</summary>
public static class SmartCacheHybridExtensions
{
    /// <summary>
    /// Registers <see cref="HybridCache"/> backed by this cache, so code written against HybridCache uses it: for the
    /// default cache as <see cref="HybridCache"/> (and keyed under <c>""</c>); for a named cache as a keyed service under
    /// the cache's name only, e.g. <c>[FromKeyedServices("orders")] HybridCache</c>. Keys are stored in the
    /// <see cref="HybridCacheKeys.Namespace"/> namespace and tags become dependency sources (see <see cref="HybridCacheKeys"/>).
    /// Registered after <c>AddHybridCache()</c>, it replaces Microsoft's implementation for unkeyed resolution.
    /// </summary>
    /// <param name="builder">The cache, from <c>AddSmartCache</c>.</param>
    /// <param name="configure">Sets default entry options and the data class of the entries; null for the defaults.</param>
    /// <returns>The same builder, for further add-ons.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <exception cref="InvalidOperationException">This cache already has a HybridCache.</exception>
    public static ISmartCacheBuilder AsHybridCache(this ISmartCacheBuilder builder, Action<SmartHybridCacheOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        string name = builder.Name;
        IServiceCollection services = builder.Services;
        if (services.Any(d => d.IsKeyedService && d.ServiceType == typeof(HybridCache) && Equals(d.ServiceKey, name)))
        {
            throw new InvalidOperationException(name.Length == 0
                ? "AsHybridCache was already called for the default cache: it registers one HybridCache per cache."
                : $"AsHybridCache was already called for the cache '{name}': it registers one HybridCache per cache.");
        }

        OptionsBuilder<SmartHybridCacheOptions> options = services.AddOptions<SmartHybridCacheOptions>(name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.AddKeyedSingleton<HybridCache>(name, (sp, _) => new SmartHybridCache(
            sp.GetRequiredKeyedService<ISmartCache>(name),
            sp.GetRequiredService<IOptionsMonitor<SmartHybridCacheOptions>>().Get(name)));
        if (name.Length == 0)
        {
            services.AddSingleton(sp => sp.GetRequiredKeyedService<HybridCache>(name));
        }

        return builder;
    }
}
