using CacheInvalidation;
using CacheInvalidation.Freshness;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Freshness verification for <see cref="ISmartCacheBuilder"/>.</summary>
public static class SmartCacheFreshnessExtensions
{
    /// <summary>
    /// Registers an <see cref="ICacheFreshnessVerifier"/> for this cache (keyed by the cache's name; the default cache's
    /// also without a key) and, when <see cref="FreshnessOptions.SamplesPerSecond"/> is above 0, a hosted service that
    /// samples continuously. The options are validated at start-up; each message names the bad option. The cache's
    /// health check turns <c>Degraded</c> while the last verification is above the divergence threshold.
    /// </summary>
    /// <param name="builder">The cache's builder.</param>
    /// <param name="configure">Names the sources (<see cref="FreshnessOptions.Source{T}(string, Func{CacheInvalidation.Keys.CacheKey, CancellationToken, Task{T}}, CacheInvalidation.Policy.DataClass, IEqualityComparer{T})"/>) and the pace.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="InvalidOperationException">This cache already has freshness verification.</exception>
    public static ISmartCacheBuilder AddFreshnessVerification(this ISmartCacheBuilder builder, Action<FreshnessOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        string name = builder.Name;
        if (builder.Services.Any(d => d.IsKeyedService && d.ServiceType == typeof(ICacheFreshnessVerifier) && Equals(d.ServiceKey, name)))
        {
            throw new InvalidOperationException($"{nameof(AddFreshnessVerification)} was already called for this cache: configure it in one call.");
        }

        builder.Services.AddOptions<FreshnessOptions>(name)
            .Configure(configure)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<FreshnessOptions>>(new FreshnessOptionsValidator(name));
        builder.Services.AddKeyedSingleton<ICacheFreshnessVerifier>(name, (sp, _) => new FreshnessVerifier(
            sp.GetRequiredKeyedService<SmartCache>(name),
            sp.GetRequiredService<IOptionsMonitor<FreshnessOptions>>().Get(name),
            sp.GetRequiredService<IServiceScopeFactory>(),
            sp.GetService<ILoggerFactory>()?.CreateLogger<FreshnessVerifier>(),
            sp.GetRequiredService<TimeProvider>()));
        if (name.Length == 0)
        {
            builder.Services.AddSingleton(sp => sp.GetRequiredKeyedService<ICacheFreshnessVerifier>(name));
        }

        builder.Services.AddSingleton<IHostedService>(sp => new FreshnessSamplerService(
            (FreshnessVerifier)sp.GetRequiredKeyedService<ICacheFreshnessVerifier>(name),
            sp.GetRequiredService<IOptionsMonitor<FreshnessOptions>>().Get(name)));
        return builder;
    }

    /// <summary>Names every bad option of one cache's verification, instead of one generic failure.</summary>
    private sealed class FreshnessOptionsValidator(string name) : IValidateOptions<FreshnessOptions>
    {
        public ValidateOptionsResult Validate(string? optionsName, FreshnessOptions options) =>
            optionsName != name ? ValidateOptionsResult.Skip
            : options.Validate().ToList() is { Count: > 0 } failures ? ValidateOptionsResult.Fail(failures)
            : ValidateOptionsResult.Success;
    }

    private sealed class FreshnessSamplerService(FreshnessVerifier verifier, FreshnessOptions options) : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
            options.SamplesPerSecond > 0 ? verifier.RunContinuousAsync(stoppingToken) : Task.CompletedTask;
    }
}
