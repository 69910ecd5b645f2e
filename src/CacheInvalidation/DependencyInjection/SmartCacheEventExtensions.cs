using CacheInvalidation;
using CacheInvalidation.Client;
using CacheInvalidation.Events;
using CacheInvalidation.Keys;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Event-driven invalidation add-ons for <see cref="ISmartCacheBuilder"/>.</summary>
public static class SmartCacheEventExtensions
{
    /// <summary>
    /// Runs an <see cref="InvalidationConsumer"/> as a hosted service, applying events from the stream to this cache.
    /// Options are read through <c>IOptionsMonitor</c>, so <c>DryRun</c> and <c>PauseNamespaceScans</c> can change at run time.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static ISmartCacheBuilder AddInvalidationConsumer(this ISmartCacheBuilder builder, Action<InvalidationConsumerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<InvalidationConsumerOptions>().Configure(configure);
        builder.Services.TryAddSingleton(sp =>
        {
            SmartCacheOptions cacheOptions = sp.GetRequiredService<IOptions<SmartCacheOptions>>().Value;
            IOptionsMonitor<InvalidationConsumerOptions> options = sp.GetRequiredService<IOptionsMonitor<InvalidationConsumerOptions>>();
            string stream = options.CurrentValue.StreamKey ?? KeyLayout.EventStreamKey(cacheOptions.KeyPrefix);
            return new InvalidationConsumer(
                sp.GetRequiredService<SmartCache>(),
                new RedisEventStream(sp.GetRequiredService<RedisConnection>(), stream),
                options,
                sp.GetService<ILoggerFactory>()?.CreateLogger<InvalidationConsumer>(),
                sp.GetRequiredService<TimeProvider>());
        });
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, InvalidationConsumerService>());
        return builder;
    }

    /// <summary>Runs an <see cref="OutboxRelay"/> as a hosted service, publishing committed outbox rows to the event stream.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static ISmartCacheBuilder AddOutboxRelay(this ISmartCacheBuilder builder, Action<OutboxRelayOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<OutboxRelayOptions>().Configure(configure);
        builder.Services.TryAddSingleton(sp =>
        {
            SmartCacheOptions cacheOptions = sp.GetRequiredService<IOptions<SmartCacheOptions>>().Value;
            OutboxRelayOptions options = sp.GetRequiredService<IOptions<OutboxRelayOptions>>().Value;
            return new OutboxRelay(
                options,
                new RedisEventStream(sp.GetRequiredService<RedisConnection>(), options.StreamKey ?? KeyLayout.EventStreamKey(cacheOptions.KeyPrefix)),
                sp.GetService<ILoggerFactory>()?.CreateLogger<OutboxRelay>(),
                sp.GetRequiredService<TimeProvider>());
        });
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, OutboxRelayService>());
        return builder;
    }
}
