using CacheInvalidation.Client;
using CacheInvalidation.Keys;
using CacheInvalidation.Policy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CacheInvalidation;

/// <summary>Validates <see cref="SmartCacheOptions"/> at start-up; every message names the option at fault.</summary>
internal sealed class SmartCacheOptionsValidator(IServiceProvider services) : IValidateOptions<SmartCacheOptions>
{
    public ValidateOptionsResult Validate(string? name, SmartCacheOptions options)
    {
        // Each named cache has its own connection: only one registered for this name counts.
        bool hasExistingConnection = services.GetKeyedServices<ExistingMultiplexer>(name ?? Options.DefaultName).Any();
        List<string> failures = Failures(options, hasExistingConnection);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Throws <see cref="OptionsValidationException"/> listing every failure, for callers outside DI.</summary>
    public static void ThrowIfInvalid(SmartCacheOptions options, bool hasExistingConnection)
    {
        List<string> failures = Failures(options, hasExistingConnection);
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(SmartCacheOptions), failures);
        }
    }

    internal static List<string> Failures(SmartCacheOptions options, bool hasExistingConnection)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        if (!hasExistingConnection && string.IsNullOrWhiteSpace(options.Configuration))
        {
            failures.Add($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.Configuration)} is required (e.g. \"localhost:6379\") unless a connection multiplexer is registered with WithConnectionMultiplexer.");
        }

        CheckKeyPart(failures, nameof(SmartCacheOptions.KeyPrefix), () => KeyPart.ValidateHierarchical(options.KeyPrefix, nameof(options.KeyPrefix)));
        CheckKeyPart(failures, nameof(SmartCacheOptions.Tenant), () => KeyPart.Validate(options.Tenant, nameof(options.Tenant)));

        if (options.DefaultTtl <= TimeSpan.Zero)
        {
            failures.Add($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.DefaultTtl)} must be positive; it is {options.DefaultTtl}.");
        }

        if (double.IsNaN(options.JitterFraction) || options.JitterFraction < 0 || options.JitterFraction >= 1)
        {
            failures.Add($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.JitterFraction)} must be in [0, 1); it is {options.JitterFraction}.");
        }

        if (options.VersionShards is < 1 or > 1024)
        {
            failures.Add($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.VersionShards)} must be in [1, 1024]; it is {options.VersionShards}.");
        }

        foreach (var (dataClass, policy) in options.Policies)
        {
            if (policy is null)
            {
                failures.Add($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.Policies)}[{dataClass}] is null; use CachePolicy.NoCaching to disable caching.");
            }
        }

        foreach (var (contentType, policy) in options.ContentTypePolicies)
        {
            if (policy is null)
            {
                failures.Add($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.ContentTypePolicies)}[{contentType}] is null; remove the entry to fall back to the data class.");
            }
        }

        if (options.LeaseTime <= TimeSpan.Zero)
        {
            failures.Add($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.LeaseTime)} must be positive; it is {options.LeaseTime}.");
        }

        if (double.IsNaN(options.EarlyRefreshBeta) || options.EarlyRefreshBeta < 0 || options.EarlyRefreshBeta > 10)
        {
            failures.Add($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.EarlyRefreshBeta)} must be in [0, 10]; it is {options.EarlyRefreshBeta}.");
        }

        CacheResilienceOptions resilience = options.Resilience;
        if (resilience.ReadTimeout <= TimeSpan.Zero || resilience.ReadTimeout > TimeSpan.FromDays(1))
        {
            failures.Add($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.Resilience)}.{nameof(CacheResilienceOptions.ReadTimeout)} must be positive (and at most a day); it is {resilience.ReadTimeout}.");
        }

        if (resilience.WriteTimeout <= TimeSpan.Zero || resilience.WriteTimeout > TimeSpan.FromDays(1))
        {
            failures.Add($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.Resilience)}.{nameof(CacheResilienceOptions.WriteTimeout)} must be positive (and at most a day); it is {resilience.WriteTimeout}.");
        }

        if (double.IsNaN(resilience.FailureRatio) || resilience.FailureRatio <= 0 || resilience.FailureRatio > 1)
        {
            failures.Add($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.Resilience)}.{nameof(CacheResilienceOptions.FailureRatio)} must be in (0, 1]; it is {resilience.FailureRatio}.");
        }

        if (resilience.MinimumThroughput < 2)
        {
            failures.Add($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.Resilience)}.{nameof(CacheResilienceOptions.MinimumThroughput)} must be at least 2; it is {resilience.MinimumThroughput}.");
        }

        if (resilience.SamplingDuration < TimeSpan.FromMilliseconds(500) || resilience.SamplingDuration > TimeSpan.FromDays(1))
        {
            failures.Add($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.Resilience)}.{nameof(CacheResilienceOptions.SamplingDuration)} must be between 0.5 s and a day; it is {resilience.SamplingDuration}.");
        }

        if (resilience.BreakDuration < TimeSpan.FromMilliseconds(500) || resilience.BreakDuration > TimeSpan.FromDays(1))
        {
            failures.Add($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.Resilience)}.{nameof(CacheResilienceOptions.BreakDuration)} must be between 0.5 s and a day; it is {resilience.BreakDuration}.");
        }

        if (resilience.JournalCapacity < 1)
        {
            failures.Add($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.Resilience)}.{nameof(CacheResilienceOptions.JournalCapacity)} must be at least 1; it is {resilience.JournalCapacity}.");
        }

        AddLocalCacheFailures(options, failures);
        failures.AddRange(options.Orphans.Failures($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.Orphans)}"));

        if (options.Serializer is null)
        {
            failures.Add($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.Serializer)} is required.");
        }
        else if (SystemTextJsonCacheSerializer.ConfigurationProblem(options.Serializer) is { } problem)
        {
            failures.Add(problem);
        }

        return failures;
    }

    /// <summary>The smallest stale budget of the data classes the local tier may serve; null when none may be (no budget above zero).</summary>
    internal static TimeSpan? SmallestLocalBudget(SmartCacheOptions options) =>
        options.LocalCache.DataClasses
            .Select(c => options.Policies.TryGetValue(c, out CachePolicy? p) && p is { IsCached: true } ? p.StaleBudget : TimeSpan.Zero)
            .Where(b => b > TimeSpan.Zero)
            .Select(b => (TimeSpan?)b)
            .Min();

    private static void AddLocalCacheFailures(SmartCacheOptions options, List<string> failures)
    {
        const string Name = $"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.LocalCache)}";
        LocalCacheOptions local = options.LocalCache;
        if (local.MaxEntries is < 3 or > 100_000_000)
        {
            failures.Add($"{Name}.{nameof(LocalCacheOptions.MaxEntries)} must be in [3, 100,000,000] (the LRU's smallest size is 3); it is {local.MaxEntries}.");
        }

        if (local.ConfirmationInterval is { } interval)
        {
            if (interval < TimeSpan.FromMilliseconds(1) || interval > TimeSpan.FromHours(1))
            {
                failures.Add($"{Name}.{nameof(LocalCacheOptions.ConfirmationInterval)} must be between 1 ms and an hour; it is {interval}.");
            }
            else if (local.Enabled && SmallestLocalBudget(options) is { } budget && interval >= budget)
            {
                failures.Add($"{Name}.{nameof(LocalCacheOptions.ConfirmationInterval)} ({interval}) must be below the smallest stale budget of the local data classes ({budget}); nothing could be served from memory otherwise.");
            }
        }
    }

    private static void CheckKeyPart(List<string> failures, string option, Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentException ex)
        {
            failures.Add($"{nameof(SmartCacheOptions)}.{option}: {ex.Message}");
        }
    }
}
