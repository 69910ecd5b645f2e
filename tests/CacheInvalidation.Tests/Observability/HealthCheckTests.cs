using CacheInvalidation.Client;
using CacheInvalidation.Events;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Observability;

[Collection(RedisCollection.Name)]
public sealed class HealthCheckTests(RedisFixture redis)
{
    [Fact]
    public async Task Running_redis_with_nothing_waiting_is_healthy()
    {
        await using ServiceProvider provider = Build(redis.ConnectionString, consumer: false);

        HealthReport report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        HealthReportEntry entry = report.Entries["smartcache"];
        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.True((double)entry.Data["redis.ping.seconds"] > 0);
        Assert.Equal(false, entry.Data["circuit.open"]);
    }

    [Fact]
    public async Task Stopped_server_is_unhealthy_and_its_journaled_invalidation_degrades_once_it_is_back()
    {
        RedisServerProcess server = RedisServerProcess.Start();
        try
        {
            await using ServiceProvider provider = Build(server.ConnectionString, consumer: false);
            HealthCheckService health = provider.GetRequiredService<HealthCheckService>();
            ISmartCache cache = provider.GetRequiredService<ISmartCache>();
            await cache.SetAsync(CacheKey.Create("k"), 1);
            Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);

            server.Pause(); // SIGSTOP by pid: connected but silent, the hardest case for a check
            HealthReportEntry paused = (await health.CheckHealthAsync()).Entries["smartcache"];
            await Assert.ThrowsAsync<CacheStoreException>(async () => await cache.InvalidateKeyAsync(CacheKey.Create("k")));
            server.Resume();

            Assert.Equal(HealthStatus.Unhealthy, paused.Status);
            Assert.Contains("unreachable", paused.Description, StringComparison.Ordinal);
            HealthReportEntry after = (await health.CheckHealthAsync()).Entries["smartcache"];
            if (after.Status == HealthStatus.Degraded)
            {
                Assert.Contains("journal", after.Description, StringComparison.Ordinal);
            }

            await Eventually.HoldsAsync(async () => (await health.CheckHealthAsync()).Status == HealthStatus.Healthy, "the journal drains and the check turns healthy");
        }
        finally
        {
            server.Dispose();
        }
    }

    [Fact]
    public async Task Consumer_backlog_and_dead_letters_degrade_the_cache()
    {
        await using ServiceProvider provider = Build(redis.ConnectionString, consumer: true, o => o.MaxConsumerLag = 2);
        HealthCheckService health = provider.GetRequiredService<HealthCheckService>();
        InvalidationConsumer consumer = provider.GetRequiredService<InvalidationConsumer>();
        string stream = Stream(provider);
        await consumer.ProcessOnceAsync(); // creates the group
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);

        IDatabase db = redis.Admin.GetDatabase();
        for (int i = 0; i < 3; i++)
        {
            await db.StreamAddAsync(stream, [new NameValueEntry("id", "e" + i), new NameValueEntry("event", "{\"id\":\"e" + i + "\",\"type\":\"product.updated\",\"keys\":[{\"namespace\":\"\",\"id\":\"k\"}],\"sources\":[],\"namespaces\":[]}")]);
        }

        HealthReportEntry behind = (await health.CheckHealthAsync()).Entries["smartcache"];
        Assert.Equal(HealthStatus.Degraded, behind.Status);
        Assert.Contains("3 entries behind", behind.Description, StringComparison.Ordinal);
        Assert.Equal(3L, behind.Data["events.lag"]);

        Assert.Equal(3, await consumer.ProcessOnceAsync());
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);

        await db.StreamAddAsync(stream, [new NameValueEntry("id", "bad"), new NameValueEntry("event", "not json")]);
        Assert.Equal(1, await consumer.ProcessOnceAsync()); // dead-lettered at once: it can never be applied

        HealthReportEntry dead = (await health.CheckHealthAsync()).Entries["smartcache"];
        Assert.Equal(HealthStatus.Degraded, dead.Status);
        Assert.Contains("1 event(s) were dead-lettered", dead.Description, StringComparison.Ordinal);
        Assert.Equal(1L, dead.Data["events.dead_letters"]);
    }

    [Fact]
    public void Bad_thresholds_and_names_are_refused_naming_them()
    {
        IHealthChecksBuilder builder = new ServiceCollection().AddHealthChecks();

        Assert.Throws<ArgumentException>(() => builder.AddSmartCache(" "));
        var timeout = Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddSmartCache(configure: o => o.Timeout = TimeSpan.Zero));
        var lag = Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddSmartCache(configure: o => o.MaxConsumerLag = -1));
        Assert.Throws<ArgumentNullException>(() => ((IHealthChecksBuilder)null!).AddSmartCache());

        Assert.Contains("Timeout", timeout.Message, StringComparison.Ordinal);
        Assert.Contains("MaxConsumerLag", lag.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Build(string configuration, bool consumer, Action<SmartCacheHealthCheckOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        string prefix = "health" + Guid.NewGuid().ToString("N")[..8]; // outside: options may be built more than once
        ISmartCacheBuilder cache = services.AddSmartCache(o =>
        {
            o.Configuration = configuration + ",abortConnect=false";
            o.KeyPrefix = prefix;
        });
        if (consumer)
        {
            cache.AddInvalidationConsumer(o => o.ConsumerName = "health");
        }

        services.AddHealthChecks().AddSmartCache(configure: o =>
        {
            o.Timeout = TimeSpan.FromSeconds(5); // a stopped server still fails it; a loaded machine does not
            configure?.Invoke(o);
        });
        return services.BuildServiceProvider();
    }

    private static string Stream(IServiceProvider provider) =>
        PrefixKeys.EventStreamKey(provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<SmartCacheOptions>>().Value.KeyPrefix);
}
