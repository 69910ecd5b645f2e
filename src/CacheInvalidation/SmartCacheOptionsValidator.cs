using CacheInvalidation.Client;
using CacheInvalidation.Keys;
using Microsoft.Extensions.Options;

namespace CacheInvalidation;

/// <summary>Validates <see cref="SmartCacheOptions"/> at start-up; every message names the option at fault.</summary>
internal sealed class SmartCacheOptionsValidator(IEnumerable<ExistingMultiplexer> existingConnections) : IValidateOptions<SmartCacheOptions>
{
    public ValidateOptionsResult Validate(string? name, SmartCacheOptions options)
    {
        List<string> failures = Failures(options, hasExistingConnection: existingConnections.Any());
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

        if (options.Serializer is null)
        {
            failures.Add($"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.Serializer)} is required.");
        }

        return failures;
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
