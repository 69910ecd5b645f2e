using CacheInvalidation.Policy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CacheInvalidation.Tests;

public sealed class OptionsValidationTests
{
    private static OptionsValidationException StartupFailure(Action<SmartCacheOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddSmartCache(configure);
        using ServiceProvider provider = services.BuildServiceProvider();
        return Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
    }

    [Fact]
    public void Missing_connection_is_reported_at_start_up()
    {
        OptionsValidationException ex = StartupFailure(_ => { });

        Assert.Contains("SmartCacheOptions.Configuration", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Serializer_without_a_context_in_an_app_without_reflection_is_reported_at_start_up()
    {
        OptionsValidationException ex = StartupFailure(o =>
        {
            o.Configuration = "localhost:6379";
            o.Serializer = new SystemTextJsonCacheSerializer(options: null, reflectionAllowed: false);
        });

        string failure = Assert.Single(ex.Failures);
        Assert.StartsWith("SmartCacheOptions.Serializer: reflection-based System.Text.Json serialization is disabled", failure, StringComparison.Ordinal);
        Assert.Contains("[JsonSerializable(typeof(T))]", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_bad_option_is_named()
    {
        OptionsValidationException ex = StartupFailure(o =>
        {
            o.Configuration = "localhost:6379";
            o.KeyPrefix = "ca*che";
            o.Tenant = "";
            o.DefaultTtl = TimeSpan.Zero;
            o.JitterFraction = 1.5;
            o.VersionShards = 0;
            o.Policies[DataClass.Important] = null!;
            o.Serializer = null!;
        });

        foreach (string option in new[] { "KeyPrefix", "Tenant", "DefaultTtl", "JitterFraction", "VersionShards", "Policies[Important]", "Serializer" })
        {
            Assert.Contains("SmartCacheOptions." + option, ex.Message, StringComparison.Ordinal);
        }

        Assert.Equal(7, ex.Failures.Count());
    }

    [Fact]
    public void Local_tier_options_are_checked_against_the_budgets_they_serve()
    {
        OptionsValidationException ex = StartupFailure(o =>
        {
            o.Configuration = "localhost:6379";
            o.LocalCache.MaxEntries = 0;
            o.LocalCache.ConfirmationInterval = TimeSpan.FromSeconds(10); // Important's budget is 10 s: never provable in time
        });

        Assert.Contains("SmartCacheOptions.LocalCache.MaxEntries", ex.Message, StringComparison.Ordinal);
        Assert.Contains("SmartCacheOptions.LocalCache.ConfirmationInterval (00:00:10) must be below the smallest stale budget", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, ex.Failures.Count());
    }

    [Fact]
    public void Default_confirmation_interval_is_a_quarter_of_the_smallest_budget_within_bounds()
    {
        var options = new LocalCacheOptions();

        Assert.Equal(TimeSpan.FromMilliseconds(250), options.EffectiveConfirmationInterval(TimeSpan.FromSeconds(1)));
        Assert.Equal(TimeSpan.FromSeconds(1), options.EffectiveConfirmationInterval(TimeSpan.FromMinutes(5)));
        Assert.Equal(TimeSpan.FromMilliseconds(10), options.EffectiveConfirmationInterval(TimeSpan.FromMilliseconds(20)));
        options.ConfirmationInterval = TimeSpan.FromMilliseconds(70);
        Assert.Equal(TimeSpan.FromMilliseconds(70), options.EffectiveConfirmationInterval(TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void Valid_options_pass()
    {
        var services = new ServiceCollection();
        services.AddSmartCache(o => o.Configuration = "localhost:6379");
        using ServiceProvider provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStartupValidator>().Validate();
        Assert.Equal("localhost:6379", provider.GetRequiredService<IOptions<SmartCacheOptions>>().Value.Configuration);
    }

    [Fact]
    public void Direct_construction_validates_too()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => new SmartCache(Options.Create(new SmartCacheOptions { Configuration = "x", VersionShards = 5000 })));

        Assert.Contains("VersionShards", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_bad_orphan_option_is_named()
    {
        OptionsValidationException ex = StartupFailure(o =>
        {
            o.Configuration = "localhost:6379";
            o.Orphans.MaxOrphanLifetime = TimeSpan.FromSeconds(-1);
            o.Orphans.MaxOrphans = -1;
            o.Orphans.BatchSize = 0;
            o.Orphans.KeysPerSecond = 0;
            o.Orphans.SampleSize = 0;
            o.Orphans.Interval = TimeSpan.Zero;
        });

        foreach (string option in new[] { "MaxOrphanLifetime", "MaxOrphans", "BatchSize", "KeysPerSecond", "SampleSize", "Interval" })
        {
            Assert.Contains("SmartCacheOptions.Orphans." + option, ex.Message, StringComparison.Ordinal);
        }

        Assert.Equal(6, ex.Failures.Count());
    }

    [Fact]
    public void Orphan_cleanup_configured_by_AddOrphanCleanup_is_validated_at_start_up()
    {
        var services = new ServiceCollection();
        services.AddSmartCache(o => o.Configuration = "localhost:6379").AddOrphanCleanup(o => o.BatchSize = 20_000);
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.StartsWith("SmartCacheOptions.Orphans.BatchSize", Assert.Single(ex.Failures), StringComparison.Ordinal);
    }
}
