using CacheInvalidation;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Orphan control add-ons for <see cref="ISmartCacheBuilder"/>.</summary>
public static class SmartCacheOrphanExtensions
{
    /// <summary>
    /// Runs the orphan cleanup job for this cache as a hosted service: every <see cref="OrphanCleanupOptions.Interval"/> it
    /// counts the orphans of the cache's tenant (entries left under old versions) from a sample and, when the count is
    /// over <see cref="OrphanCleanupOptions.MaxOrphans"/> or an orphan outlives <see cref="OrphanCleanupOptions.MaxOrphanLifetime"/>,
    /// removes them in batches paced to <see cref="OrphanCleanupOptions.KeysPerSecond"/>, audited like a purge. A Redis fault
    /// is logged and retried at the next interval. The options are the cache's <see cref="SmartCacheOptions.Orphans"/>,
    /// validated with the cache's other options.
    /// </summary>
    /// <param name="builder">The cache's builder.</param>
    /// <param name="configure">Sets the thresholds and pace (<see cref="SmartCacheOptions.Orphans"/>); null keeps them as the cache's options set them.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <exception cref="InvalidOperationException">This cache already has an orphan cleanup job.</exception>
    public static ISmartCacheBuilder AddOrphanCleanup(this ISmartCacheBuilder builder, Action<OrphanCleanupOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        string name = builder.Name;
        if (builder.Services.Any(d => d.IsKeyedService && d.ServiceType == typeof(OrphanCleanupService) && Equals(d.ServiceKey, name)))
        {
            throw new InvalidOperationException($"{nameof(AddOrphanCleanup)} was already called for this cache: configure it in one call.");
        }

        if (configure is not null)
        {
            builder.Services.Configure<SmartCacheOptions>(name, options => configure(options.Orphans));
        }

        builder.Services.AddKeyedSingleton(name, (sp, _) =>
        {
            SmartCacheOptions options = sp.GetRequiredService<IOptionsMonitor<SmartCacheOptions>>().Get(name);
            return new OrphanCleanupService(
                sp.GetRequiredKeyedService<ISmartCacheAdministration>(name),
                options.Orphans,
                options.Tenant,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetService<ILoggerFactory>()?.CreateLogger<OrphanCleanupService>());
        });
        builder.Services.AddSingleton<IHostedService>(sp => sp.GetRequiredKeyedService<OrphanCleanupService>(name));
        return builder;
    }
}
