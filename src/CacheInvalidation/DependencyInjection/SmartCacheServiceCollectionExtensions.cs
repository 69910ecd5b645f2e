using System.Diagnostics.Metrics;
using CacheInvalidation;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
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
    /// Adds the application's default cache as a singleton, resolvable as <see cref="ISmartCache"/>,
    /// <see cref="ICacheInvalidator"/> and <see cref="ISmartCacheAdministration"/>. Options are validated when the host
    /// starts (<c>ValidateOnStart</c>), or on first use outside a host; each failure names the option. Further caches
    /// are added by name with <see cref="AddSmartCache(IServiceCollection, string, Action{SmartCacheOptions})"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options, e.g. <c>o => o.Configuration = "localhost:6379"</c>.</param>
    /// <returns>A builder for add-ons such as <c>WithConnectionMultiplexer</c>.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="InvalidOperationException">The default cache is already registered: a second call would silently merge two configurations.</exception>
    public static ISmartCacheBuilder AddSmartCache(this IServiceCollection services, Action<SmartCacheOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        ISmartCacheBuilder builder = AddCache(services, SmartCacheBuilder.DefaultName, configure);
        services.AddSingleton(sp => sp.GetRequiredKeyedService<SmartCache>(SmartCacheBuilder.DefaultName));
        services.AddSingleton<ISmartCache>(sp => sp.GetRequiredKeyedService<SmartCache>(SmartCacheBuilder.DefaultName));
        services.AddSingleton<ICacheInvalidator>(sp => sp.GetRequiredKeyedService<SmartCache>(SmartCacheBuilder.DefaultName));
        services.AddSingleton(sp => sp.GetRequiredKeyedService<ISmartCacheAdministration>(SmartCacheBuilder.DefaultName));
        return builder;
    }

    /// <summary>
    /// Adds a named cache with its own options (prefix, connection, policies), resolvable as a keyed service:
    /// <c>[FromKeyedServices("orders")] ISmartCache</c>, or <c>GetRequiredKeyedService&lt;ICacheInvalidator&gt;("orders")</c>.
    /// Its metrics and traces carry the name.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The cache's name, unique in the application.</param>
    /// <param name="configure">Sets the options of this cache only.</param>
    /// <returns>A builder for add-ons of this cache.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or white space.</exception>
    /// <exception cref="InvalidOperationException">A cache with this name is already registered.</exception>
    public static ISmartCacheBuilder AddSmartCache(this IServiceCollection services, string name, Action<SmartCacheOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        return AddCache(services, name, configure);
    }

    private static SmartCacheBuilder AddCache(IServiceCollection services, string name, Action<SmartCacheOptions> configure)
    {
        if (services.Any(d => d.ServiceType == typeof(SmartCacheBuilder) && d.ImplementationInstance is SmartCacheBuilder b && b.Name == name))
        {
            throw new InvalidOperationException(name.Length == 0
                ? "AddSmartCache was already called: the default cache is registered once. Configure it in one call, or add another cache by name: AddSmartCache(\"name\", o => …)."
                : $"A cache named '{name}' is already registered: each named cache is added once.");
        }

        var builder = new SmartCacheBuilder(services, name);
        services.AddSingleton(builder);
        services.AddOptions<SmartCacheOptions>(name).Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SmartCacheOptions>, SmartCacheOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddKeyedSingleton(name, (sp, _) =>
        {
            SmartCacheOptions options = builder.Options(sp);
            var resilience = new StoreResilience(
                options.Resilience,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetService<ILoggerFactory>()?.CreateLogger<SmartCache>(),
                CacheMetrics.Create(sp.GetService<IMeterFactory>(), name.Length == 0 ? "default" : name));
            ExistingMultiplexer? existing = sp.GetKeyedServices<ExistingMultiplexer>(name).LastOrDefault();
            return existing is null
                ? RedisConnection.FromConfiguration(options.Configuration!, resilience)
                : RedisConnection.FromExisting(existing.Resolve(sp), resilience);
        });
        services.AddKeyedSingleton(name, (sp, _) => new SmartCache(
            builder.Options(sp),
            sp.GetRequiredKeyedService<RedisConnection>(name),
            ownsConnection: false, // the container disposes the connection it created
            sp.GetService<ILoggerFactory>()?.CreateLogger<SmartCache>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ITenantAccessor>(),
            builder.SuspendedByOptions(sp)));
        services.AddKeyedSingleton<ISmartCache>(name, (sp, _) => sp.GetRequiredKeyedService<SmartCache>(name));
        services.AddKeyedSingleton<ICacheInvalidator>(name, (sp, _) => sp.GetRequiredKeyedService<SmartCache>(name));
        services.AddKeyedSingleton<ISmartCacheAdministration>(name, (sp, _) => new SmartCacheAdministration(
            builder.Options(sp),
            sp.GetRequiredKeyedService<RedisConnection>(name),
            sp.GetService<ILoggerFactory>()?.CreateLogger<SmartCacheAdministration>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredKeyedService<SmartCache>(name).DetachLoads,
            builder.SuspendedByOptions(sp)));
        services.AddSingleton<IHostedService>(sp => new MemoryPolicyStartupCheck(
            builder.Options(sp), sp.GetRequiredKeyedService<ISmartCacheAdministration>(name)));
        return builder;
    }
}
