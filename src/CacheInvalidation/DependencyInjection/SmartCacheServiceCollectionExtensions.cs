using CacheInvalidation;
using CacheInvalidation.Client;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers <see cref="SmartCache"/> as <see cref="ISmartCache"/> and <see cref="ICacheInvalidator"/>, and
/// <see cref="ISmartCacheAdministration"/>. A registered <see cref="ITenantAccessor"/> scopes every call to its tenant.
/// </summary>
public static class SmartCacheServiceCollectionExtensions
{
    /// <summary>
    /// Adds the cache as a singleton. Options are validated when the host starts (<c>ValidateOnStart</c>), or on first
    /// use outside a host; each failure names the option.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options, e.g. <c>o => o.Configuration = "localhost:6379"</c>.</param>
    /// <returns>A builder for add-ons such as <c>WithConnectionMultiplexer</c>.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static ISmartCacheBuilder AddSmartCache(this IServiceCollection services, Action<SmartCacheOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        services.AddOptions<SmartCacheOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SmartCacheOptions>, SmartCacheOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp =>
        {
            SmartCacheOptions options = sp.GetRequiredService<IOptions<SmartCacheOptions>>().Value;
            var resilience = new StoreResilience(options.Resilience, sp.GetRequiredService<TimeProvider>(), sp.GetService<ILoggerFactory>()?.CreateLogger<SmartCache>());
            ExistingMultiplexer? existing = sp.GetServices<ExistingMultiplexer>().LastOrDefault();
            return existing is null
                ? RedisConnection.FromConfiguration(options.Configuration!, resilience)
                : RedisConnection.FromExisting(existing.Resolve(sp), resilience);
        });
        services.TryAddSingleton(sp => new SmartCache(
            sp.GetRequiredService<IOptions<SmartCacheOptions>>().Value,
            sp.GetRequiredService<RedisConnection>(),
            ownsConnection: false, // the container disposes the connection it created
            sp.GetService<ILoggerFactory>()?.CreateLogger<SmartCache>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ITenantAccessor>()));
        services.TryAddSingleton<ISmartCache>(sp => sp.GetRequiredService<SmartCache>());
        services.TryAddSingleton<ICacheInvalidator>(sp => sp.GetRequiredService<SmartCache>());
        services.TryAddSingleton<ISmartCacheAdministration>(sp => new SmartCacheAdministration(
            sp.GetRequiredService<IOptions<SmartCacheOptions>>().Value,
            sp.GetRequiredService<RedisConnection>(),
            sp.GetService<ILoggerFactory>()?.CreateLogger<SmartCacheAdministration>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<SmartCache>().DetachLoads));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, MemoryPolicyStartupCheck>());
        return new SmartCacheBuilder(services);
    }
}
