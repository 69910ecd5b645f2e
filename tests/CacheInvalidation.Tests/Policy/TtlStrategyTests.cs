using CacheInvalidation.Policy;
using CacheInvalidation.Strategies;
using Microsoft.Extensions.Time.Testing;

namespace CacheInvalidation.Tests.Policy;

public sealed class TtlStrategyTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));

    private TtlStrategy Strategy(SmartCacheOptions? options = null, int seed = 7) =>
        new(options ?? new SmartCacheOptions(), _time, new Random(seed));

    [Fact]
    public void Default_ttl_with_default_jitter_stays_within_budget_and_spreads()
    {
        TtlStrategy strategy = Strategy(new SmartCacheOptions { DefaultTtl = TimeSpan.FromMinutes(10), JitterFraction = 0.1 });

        var ttls = Enumerable.Range(0, 1000).Select(_ => strategy.Decide(null)).ToList();

        Assert.All(ttls, d => Assert.True(d.Cache));
        Assert.All(ttls, d => Assert.InRange(d.Ttl!.Value, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10)));
        double spread = ttls.Max(d => d.Ttl!.Value.TotalSeconds) - ttls.Min(d => d.Ttl!.Value.TotalSeconds);
        Assert.True(spread > 50, $"jitter spread only {spread:F1} s of 60 s");
        Assert.True(ttls.Select(d => d.Ttl).Distinct().Count() > 900);
    }

    [Fact]
    public void Zero_jitter_fraction_gives_exact_ttl()
    {
        TtlStrategy strategy = Strategy(new SmartCacheOptions { DefaultTtl = TimeSpan.FromSeconds(30), JitterFraction = 0 });

        Assert.Equal(TimeSpan.FromSeconds(30), strategy.Decide(null).Ttl);
    }

    [Theory]
    [InlineData(ContentType.StaticFacts, 24 * 3600, 24 * 3600 * 0.9)]
    [InlineData(ContentType.Documentation, 6 * 3600, 6 * 3600 * 0.9)]
    [InlineData(ContentType.UserData, 3600, 3600 * 0.9)]
    [InlineData(ContentType.RealTime, 300, 60)]
    public void Content_types_have_the_seed_defaults(ContentType contentType, double maxSeconds, double minSeconds)
    {
        TtlStrategy strategy = Strategy();

        for (int i = 0; i < 200; i++)
        {
            TtlDecision decision = strategy.Decide(new CacheEntryOptions { ContentType = contentType });
            Assert.True(decision.Cache);
            Assert.InRange(decision.Ttl!.Value.TotalSeconds, minSeconds, maxSeconds);
        }
    }

    [Fact]
    public void Critical_data_is_not_cached_by_default()
    {
        TtlStrategy strategy = Strategy();

        Assert.False(strategy.Decide(new CacheEntryOptions { DataClass = DataClass.Critical }).Cache);
        Assert.False(strategy.Decide(new CacheEntryOptions { DataClass = DataClass.Critical, ContentType = ContentType.StaticFacts }).Cache);
        Assert.False(strategy.Decide(new CacheEntryOptions { DataClass = DataClass.Critical, Ttl = TimeSpan.FromHours(1) }).Cache);
    }

    [Fact]
    public void Data_class_policy_gives_the_ttl_when_no_content_type()
    {
        var options = new SmartCacheOptions();
        options.Policies[DataClass.BestEffort] = CachePolicy.Ttl(TimeSpan.FromMinutes(20), TimeSpan.Zero);

        TtlDecision decision = Strategy(options).Decide(new CacheEntryOptions { DataClass = DataClass.BestEffort });

        Assert.Equal(TimeSpan.FromMinutes(20), decision.Ttl);
    }

    [Fact]
    public void Explicit_ttl_overrides_policies_and_explicit_jitter_bounds_it()
    {
        TtlStrategy strategy = Strategy();
        var entry = new CacheEntryOptions { ContentType = ContentType.StaticFacts, Ttl = TimeSpan.FromSeconds(100), Jitter = TimeSpan.FromSeconds(50) };

        var ttls = Enumerable.Range(0, 500).Select(_ => strategy.Decide(entry).Ttl!.Value.TotalSeconds).ToList();

        Assert.All(ttls, t => Assert.InRange(t, 50, 100));
        Assert.True(ttls.Max() - ttls.Min() > 40);
    }

    [Fact]
    public void Absolute_expiration_uses_the_clock()
    {
        TtlStrategy strategy = Strategy();
        var entry = new CacheEntryOptions { AbsoluteExpiration = _time.GetUtcNow().AddMinutes(5) };

        Assert.Equal(TimeSpan.FromMinutes(5), strategy.Decide(entry).Ttl);

        _time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(TimeSpan.FromMinutes(1), strategy.Decide(entry).Ttl);

        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.False(strategy.Decide(entry).Cache);
    }

    [Fact]
    public void No_entry_lacks_a_ttl_unless_asked()
    {
        TtlStrategy strategy = Strategy();
        CacheEntryOptions?[] ordinary =
        [
            null,
            new CacheEntryOptions(),
            new CacheEntryOptions { DataClass = DataClass.Important },
            new CacheEntryOptions { DataClass = DataClass.BestEffort },
            new CacheEntryOptions { ContentType = ContentType.UserData },
        ];

        Assert.All(ordinary, o => Assert.NotNull(strategy.Decide(o).Ttl));
        TtlDecision forever = strategy.Decide(new CacheEntryOptions { NeverExpire = true });
        Assert.True(forever.Cache);
        Assert.Null(forever.Ttl);
    }

    [Fact]
    public void Zero_or_negative_ttl_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CacheEntryOptions { Ttl = TimeSpan.Zero });
        Assert.Throws<ArgumentOutOfRangeException>(() => new CacheEntryOptions { Ttl = TimeSpan.FromSeconds(-1) });
        Assert.Throws<ArgumentOutOfRangeException>(() => new CacheEntryOptions { Jitter = TimeSpan.FromSeconds(-1) });
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => CachePolicy.Ttl(TimeSpan.Zero));
        Assert.Equal("ttl", ex.ParamName);
        ex = Assert.Throws<ArgumentOutOfRangeException>(() => CachePolicy.Ttl(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10)));
        Assert.Equal("jitter", ex.ParamName);
    }

    [Fact]
    public void Jitter_not_less_than_ttl_is_rejected_at_use()
    {
        TtlStrategy strategy = Strategy();

        Assert.Throws<ArgumentOutOfRangeException>(() =>
            strategy.Decide(new CacheEntryOptions { Ttl = TimeSpan.FromSeconds(5), Jitter = TimeSpan.FromSeconds(5) }));
    }
}
