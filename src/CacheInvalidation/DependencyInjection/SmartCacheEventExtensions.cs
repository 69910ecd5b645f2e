using CacheInvalidation;
using CacheInvalidation.Client;
using CacheInvalidation.Events;
using CacheInvalidation.Keys;
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
    /// <remarks>
    /// The options are validated at start-up (each message names the bad option); a reload that makes them invalid is
    /// logged and the consumer goes on with the last valid ones.
    /// </remarks>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="InvalidOperationException">This cache already has a consumer.</exception>
    public static ISmartCacheBuilder AddInvalidationConsumer(this ISmartCacheBuilder builder, Action<InvalidationConsumerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        string name = builder.Name;
        ThrowIfRegistered<InvalidationConsumer>(builder, nameof(AddInvalidationConsumer));
        builder.Services.AddOptions<InvalidationConsumerOptions>(name).Configure(configure).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<InvalidationConsumerOptions>>(new ConsumerOptionsValidator(name));
        builder.Services.AddKeyedSingleton(name, (sp, _) =>
        {
            IOptionsMonitor<InvalidationConsumerOptions> options = sp.GetRequiredService<IOptionsMonitor<InvalidationConsumerOptions>>();
            string stream = options.Get(name).StreamKey ?? PrefixKeys.EventStreamKey(CacheOptions(sp, name).KeyPrefix);
            return new InvalidationConsumer(
                sp.GetRequiredKeyedService<SmartCache>(name),
                new RedisEventStream(sp.GetRequiredKeyedService<RedisConnection>(name), stream),
                options,
                sp.GetService<ILoggerFactory>()?.CreateLogger<InvalidationConsumer>(),
                sp.GetRequiredService<TimeProvider>(),
                name);
        });
        AddDefaultAlias<InvalidationConsumer>(builder);
        builder.Services.AddSingleton<IHostedService>(sp => new InvalidationConsumerService(sp.GetRequiredKeyedService<InvalidationConsumer>(name)));
        return builder;
    }

    /// <summary>Runs an <see cref="OutboxRelay"/> as a hosted service, publishing committed outbox rows to the event stream.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="InvalidOperationException">This cache already has a relay.</exception>
    public static ISmartCacheBuilder AddOutboxRelay(this ISmartCacheBuilder builder, Action<OutboxRelayOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        string name = builder.Name;
        ThrowIfRegistered<OutboxRelay>(builder, nameof(AddOutboxRelay));
        builder.Services.AddOptions<OutboxRelayOptions>(name).Configure(configure);
        builder.Services.AddKeyedSingleton(name, (sp, _) =>
        {
            OutboxRelayOptions options = sp.GetRequiredService<IOptionsMonitor<OutboxRelayOptions>>().Get(name);
            return new OutboxRelay(
                options,
                new RedisEventStream(sp.GetRequiredKeyedService<RedisConnection>(name), options.StreamKey ?? PrefixKeys.EventStreamKey(CacheOptions(sp, name).KeyPrefix)),
                sp.GetService<ILoggerFactory>()?.CreateLogger<OutboxRelay>(),
                sp.GetRequiredService<TimeProvider>());
        });
        AddDefaultAlias<OutboxRelay>(builder);
        builder.Services.AddSingleton<IHostedService>(sp => new OutboxRelayService(sp.GetRequiredKeyedService<OutboxRelay>(name)));
        return builder;
    }

    /// <summary>Names every bad option of one cache's consumer, at start-up and on every reload.</summary>
    private sealed class ConsumerOptionsValidator(string name) : IValidateOptions<InvalidationConsumerOptions>
    {
        public ValidateOptionsResult Validate(string? optionsName, InvalidationConsumerOptions options) =>
            optionsName != name ? ValidateOptionsResult.Skip
            : options.Validate().ToList() is { Count: > 0 } failures ? ValidateOptionsResult.Fail(failures)
            : ValidateOptionsResult.Success;
    }

    private static SmartCacheOptions CacheOptions(IServiceProvider services, string name) =>
        services.GetRequiredService<IOptionsMonitor<SmartCacheOptions>>().Get(name);

    /// <summary>The default cache's add-ons are also resolvable without a key, like the cache itself.</summary>
    private static void AddDefaultAlias<T>(ISmartCacheBuilder builder)
        where T : class
    {
        if (builder.Name.Length == 0)
        {
            builder.Services.AddSingleton(sp => sp.GetRequiredKeyedService<T>(builder.Name));
        }
    }

    private static void ThrowIfRegistered<T>(ISmartCacheBuilder builder, string method)
    {
        if (builder.Services.Any(d => d.IsKeyedService && d.ServiceType == typeof(T) && Equals(d.ServiceKey, builder.Name)))
        {
            throw new InvalidOperationException($"{method} was already called for this cache: configure it in one call.");
        }
    }
}
