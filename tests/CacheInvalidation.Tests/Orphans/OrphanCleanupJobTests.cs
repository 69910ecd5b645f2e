using System.Collections.Concurrent;
using CacheInvalidation.Client;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Orphans;

[Collection(RedisCollection.Name)]
public sealed class OrphanCleanupJobTests(RedisFixture redis)
{
    private static OrphanCleanupService Job(ISmartCacheAdministration admin, OrphanCleanupOptions options, ILogger? logger = null) =>
        new(admin, options, "default", TimeProvider.System, logger);

    [Fact]
    public async Task Job_cleans_when_the_count_is_over_the_threshold_and_audits_it()
    {
        using SmartCache cache = TestCache.Create(redis, OrphanSeed.Options);
        OrphanSeed seed = await OrphanSeed.CreateAsync(cache);
        OrphanCleanupService job = Job(OrphanSeed.Admin(redis.Admin, cache), new OrphanCleanupOptions { MaxOrphans = 39, KeysPerSecond = null });

        OrphanReport? report = await job.RunOnceAsync(CancellationToken.None);

        Assert.NotNull(report);
        Assert.Equal(40, report.Removed);
        Assert.Equal(seed.Current.Count, (await TestCache.EntryKeysAsync(redis, cache)).Count);
        StreamEntry[] audit = await redis.Admin.GetDatabase().StreamRangeAsync($"{{{cache.Layout.Prefix}}}:audit");
        Assert.Equal(["started", "completed"], audit.Select(e => (string)e["phase"]!));
        Assert.All(audit, e => Assert.Equal(OrphanCleanupService.Actor, e["actor"]));
        Assert.StartsWith("about 40 orphans (threshold 39)", audit[0]["reason"].ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(40L, null)] // the estimate (40) is not over the count threshold
    [InlineData(null, 60)] // no orphan lives longer than an hour
    public async Task Job_does_nothing_when_the_count_is_under_the_threshold(long? maxOrphans, int? maxLifetimeMinutes)
    {
        using SmartCache cache = TestCache.Create(redis, OrphanSeed.Options);
        await OrphanSeed.CreateAsync(cache);
        var options = new OrphanCleanupOptions
        {
            MaxOrphans = maxOrphans,
            MaxOrphanLifetime = maxLifetimeMinutes is { } minutes ? TimeSpan.FromMinutes(minutes) : null,
            KeysPerSecond = null,
        };
        OrphanCleanupService job = Job(OrphanSeed.Admin(redis.Admin, cache), options);

        OrphanReport? report = await job.RunOnceAsync(CancellationToken.None);

        Assert.Null(report);
        Assert.Equal(65, (await TestCache.EntryKeysAsync(redis, cache)).Count);
        Assert.False(await redis.Admin.GetDatabase().KeyExistsAsync($"{{{cache.Layout.Prefix}}}:audit"));
    }

    [Fact]
    public async Task Hosted_job_cleans_at_its_interval()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        string prefix = "orph" + Guid.NewGuid().ToString("N")[..8];
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddSmartCache(o => { TestCache.Patient(o); o.KeyPrefix = prefix; OrphanSeed.Options(o); })
            .WithConnectionMultiplexer(redis.Admin)
            .AddOrphanCleanup(o => { o.Interval = TimeSpan.FromMinutes(10); o.KeysPerSecond = null; });
        await using ServiceProvider provider = services.BuildServiceProvider();
        SmartCache cache = provider.GetRequiredService<SmartCache>();
        OrphanSeed seed = await OrphanSeed.CreateAsync(cache);
        IHostedService hosted = provider.GetServices<IHostedService>().Single(s => s is OrphanCleanupService);

        await hosted.StartAsync(CancellationToken.None);
        Assert.Equal(65, (await TestCache.EntryKeysAsync(redis, cache)).Count); // nothing before the first interval
        await Eventually.HoldsAsync(
            async () =>
            {
                clock.Advance(TimeSpan.FromMinutes(10));
                return (await TestCache.EntryKeysAsync(redis, cache)).Count == seed.Current.Count;
            },
            "the hosted job did not remove the orphans");
        await hosted.StopAsync(CancellationToken.None);

        foreach (CacheKey key in seed.Current)
        {
            Assert.True((await cache.GetAsync<int>(key)).Found);
        }
    }

    [Fact]
    public async Task Job_survives_Redis_faults_logs_them_and_runs_again()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var logger = new ListLogger();
        var options = new SmartCacheOptions();
        using RedisConnection unreachable = RedisConnection.FromConfiguration("127.0.0.1:1,connectTimeout=200,abortConnect=false");
        var admin = new SmartCacheAdministration(options, unreachable, null, clock);
        var job = new OrphanCleanupService(admin, new OrphanCleanupOptions { Interval = TimeSpan.FromMinutes(1) }, "default", clock, logger);

        Assert.Null(await job.RunOnceAsync(CancellationToken.None));
        Assert.Single(logger.Failures);

        await job.StartAsync(CancellationToken.None);
        await Eventually.HoldsAsync(
            () =>
            {
                clock.Advance(TimeSpan.FromMinutes(1));
                return logger.Failures.Count >= 3;
            },
            "the job did not run again after a failure");
        Assert.False(job.ExecuteTask!.IsCompleted); // still running: the faults did not end it
        await job.StopAsync(CancellationToken.None);
        Assert.True(job.ExecuteTask.IsCompletedSuccessfully);
    }

    [Fact]
    public void Job_is_added_once_per_cache()
    {
        var services = new ServiceCollection();
        ISmartCacheBuilder builder = services.AddSmartCache(o => o.Configuration = "localhost:6379").AddOrphanCleanup();
        services.AddSmartCache("orders", o => o.Configuration = "localhost:6379").AddOrphanCleanup();

        Assert.Throws<InvalidOperationException>(() => builder.AddOrphanCleanup());
        using ServiceProvider provider = services.BuildServiceProvider();
        Assert.Equal(2, provider.GetServices<IHostedService>().OfType<OrphanCleanupService>().Count());
    }

    /// <summary>Records the job's failure warnings (event 72).</summary>
    private sealed class ListLogger : ILogger
    {
        private readonly ConcurrentQueue<Exception?> _failures = new();

        public IReadOnlyList<Exception?> Failures => [.. _failures];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == 72)
            {
                Assert.Equal(LogLevel.Warning, logLevel);
                _failures.Enqueue(exception);
            }
        }
    }
}
