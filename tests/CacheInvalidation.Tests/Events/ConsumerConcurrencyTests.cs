using System.Collections.Concurrent;
using CacheInvalidation.Events;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CacheInvalidation.Tests.Events;

/// <summary>
/// The consumer applies a batch in lanes: one per entity, in stream order, several lanes at once. Against a real Redis.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class ConsumerConcurrencyTests(RedisFixture redis)
{
    [Fact]
    public async Task A_slow_event_does_not_hold_back_the_events_of_other_entities_behind_it()
    {
        using var gate = new ManualResetEventSlim();
        bool released = false;
        using var harness = new EventHarness(redis, o => o.Map("slow", _ =>
        {
            released = gate.Wait(TimeSpan.FromSeconds(60)); // stuck on something slow, longer than the poll below waits
            return [];
        }));
        int[] others = Enumerable.Range(2, 20).ToArray();
        foreach (int id in others)
        {
            await harness.Cache.SetAsync(View(id), "view");
        }

        await PublishAsync(harness, new InvalidationEvent { Type = "slow", Entity = "product:1", EntityVersion = 1 });
        foreach (int id in others)
        {
            await PublishAsync(harness, Updated(id, version: 1));
        }

        Task<int> pass = harness.Consumer.ProcessOnceAsync();
        await Eventually.HoldsAsync(
            async () => (await Task.WhenAll(others.Select(async id => (await harness.Cache.GetAsync<string>(View(id))).Found))).All(found => !found),
            "the events behind the slow one were not applied while it was running");
        gate.Set();

        Assert.Equal(21, await pass);
        Assert.True(released, "the slow handler had to time out before the others were applied: the batch ran in one lane");
    }

    [Fact]
    public async Task Events_of_one_entity_are_applied_in_stream_order_while_other_entities_run_beside_them()
    {
        var applied = new ConcurrentQueue<(string Entity, long Version)>();
        using var harness = new EventHarness(redis, o => o.Map("product.updated", e =>
        {
            Thread.Sleep(Random.Shared.Next(3)); // uneven handlers: events that raced would be seen out of order
            applied.Enqueue((e.Entity!, e.EntityVersion));
            return [];
        }));
        using var metrics = new MetricRecorder();
        for (int version = 1; version <= 30; version++)
        {
            await PublishAsync(harness, Updated(1, version));
            await PublishAsync(harness, Updated(100 + version, version: 1));
        }

        Assert.Equal(60, await harness.Consumer.ProcessOnceAsync());

        long[] ordered = applied.Where(a => a.Entity == "product:1").Select(a => a.Version).ToArray();
        Assert.Equal(Enumerable.Range(1, 30).Select(v => (long)v), ordered); // none skipped as out of order, none raced
        Assert.Equal(60, metrics["cacheinvalidation.events/applied"]);
        Assert.Equal(0, metrics["cacheinvalidation.events/out-of-order"]);
    }

    [Fact]
    public async Task With_one_lane_the_batch_is_applied_strictly_in_stream_order()
    {
        var applied = new ConcurrentQueue<string>();
        using var harness = new EventHarness(redis, o =>
        {
            o.MaxConcurrency = 1;
            o.Map("product.updated", e =>
            {
                applied.Enqueue(e.Entity!);
                return [];
            });
        });
        string[] published = Enumerable.Range(1, 40).Select(id => $"product:{id}").ToArray();
        foreach (int id in Enumerable.Range(1, 40))
        {
            await PublishAsync(harness, Updated(id, version: 1));
        }

        Assert.Equal(40, await harness.Consumer.ProcessOnceAsync());
        Assert.Equal(published, applied);
    }

    [Fact]
    public void Bad_options_fail_at_start_up_naming_each_option()
    {
        var services = new ServiceCollection();
        services.AddSmartCache(o => { TestCache.Patient(o); o.KeyPrefix = "consumer-options"; })
            .WithConnectionMultiplexer(redis.Admin)
            .AddInvalidationConsumer(o =>
            {
                o.MaxConcurrency = 0;
                o.BatchSize = 20_000;
                o.PollInterval = TimeSpan.Zero;
                o.MaxAttempts = 0;
                o.Group = " ";
            });
        using ServiceProvider provider = services.BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        foreach (string option in new[] { "MaxConcurrency", "BatchSize", "PollInterval", "MaxAttempts", "Group" })
        {
            Assert.Contains("InvalidationConsumerOptions." + option, failure.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_reload_that_makes_the_options_invalid_is_logged_once_and_the_last_valid_ones_are_kept()
    {
        using var harness = new EventHarness(redis);
        var monitor = new ReloadableOptions(harness.Options);
        var logger = new CountingLogger();
        var consumer = new InvalidationConsumer(harness.Cache, harness.Stream(), monitor, logger, null);
        await harness.Cache.SetAsync(View(1), "view");
        Assert.Equal(0, await consumer.ProcessOnceAsync());

        monitor.Broken = true;
        await PublishAsync(harness, Updated(1, version: 1));
        Assert.Equal(1, await consumer.ProcessOnceAsync());
        Assert.Equal(0, await consumer.ProcessOnceAsync());

        Assert.False((await harness.Cache.GetAsync<string>(View(1))).Found);
        Assert.Equal(1, logger.Errors);
    }

    private static CacheKey View(int id) => CacheKey.Entity("product-view", id);

    private static InvalidationEvent Updated(int id, long version) => new()
    {
        Type = "product.updated",
        Entity = $"product:{id}",
        EntityVersion = version,
        Keys = [new EventKey("product-view", id.ToString(System.Globalization.CultureInfo.InvariantCulture))],
    };

    private static Task<string> PublishAsync(EventHarness harness, InvalidationEvent invalidation) =>
        harness.Stream().PublishAsync(invalidation.Id, InvalidationEventJson.Serialize(invalidation));

    /// <summary>Options a configuration reload has made invalid: <c>Get</c> throws like the options monitor then does.</summary>
    private sealed class ReloadableOptions(InvalidationConsumerOptions valid) : IOptionsMonitor<InvalidationConsumerOptions>
    {
        public bool Broken { get; set; }

        public InvalidationConsumerOptions CurrentValue => Get(Options.DefaultName);

        public InvalidationConsumerOptions Get(string? name) => Broken
            ? throw new OptionsValidationException(name ?? string.Empty, typeof(InvalidationConsumerOptions), ["InvalidationConsumerOptions.BatchSize must be in [1, 10,000]; it is 0."])
            : valid;

        public IDisposable? OnChange(Action<InvalidationConsumerOptions, string?> listener) => null;
    }

    private sealed class CountingLogger : ILogger
    {
        private int _errors;

        public int Errors => _errors;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error)
            {
                Interlocked.Increment(ref _errors);
            }
        }
    }
}
