using CacheInvalidation.Client;
using CacheInvalidation.Events;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Events;

/// <summary>The event path under the failures that used to lose invalidations: backlogs, trimmed or lost streams, poison entries.</summary>
[Collection(RedisCollection.Name)]
public sealed class EventFaultTests(RedisFixture redis)
{
    private static InvalidationEvent ProductUpdated(int id) => new() { Type = "product.updated", Entity = $"product:{id}", EntityVersion = 2, Sources = [$"product:{id}"] };

    private static Task CacheViewAsync(SmartCache cache, int id) =>
        cache.SetAsync(CacheKey.Entity("product-view", id), $"view {id}", new CacheEntryOptions { DependsOn = [$"product:{id}"] }).AsTask();

    [Fact]
    public async Task Backlog_of_thousands_of_events_with_the_consumer_down_loses_none_and_is_trimmed_once_applied()
    {
        using var harness = new EventHarness(redis);
        using var metrics = new MetricRecorder();
        const int Events = 3_000;
        await harness.Consumer.ProcessOnceAsync(); // the group exists; then the consumer is down
        foreach (int[] chunk in Enumerable.Range(0, Events).Chunk(500))
        {
            await Task.WhenAll(chunk.Select(i => CacheViewAsync(harness.Cache, i)));
        }

        RedisEventStream stream = harness.Stream();
        foreach (int[] chunk in Enumerable.Range(0, Events).Chunk(500))
        {
            await Task.WhenAll(chunk.Select(i => { InvalidationEvent e = ProductUpdated(i); return stream.PublishAsync(e.Id, InvalidationEventJson.Serialize(e)); }));
        }

        Assert.Equal(Events, await harness.Redis.StreamLengthAsync(harness.StreamKey)); // nothing trimmed while unread
        for (int pass = 0; pass < 200 && metrics["cacheinvalidation.events/applied"] < Events; pass++)
        {
            await harness.Consumer.ProcessOnceAsync();
        }

        bool[] cached = await Task.WhenAll(Enumerable.Range(0, Events).Select(async i => (await harness.Cache.GetAsync<string>(CacheKey.Entity("product-view", i))).Found));
        Assert.Equal(Events, metrics["cacheinvalidation.events/applied"]);
        Assert.Equal(0, cached.Count(c => c));
        Assert.True(await harness.Redis.StreamLengthAsync(harness.StreamKey) <= 1, "acknowledged entries are trimmed");
    }

    [Fact]
    public async Task Entries_trimmed_before_the_group_read_them_void_every_tenant_and_the_consumer_goes_on()
    {
        using var harness = new EventHarness(redis);
        using var metrics = new MetricRecorder();
        string prefix = harness.Cache.Layout.Prefix;
        using SmartCache otherTenant = TestCache.Create(redis, o => { o.KeyPrefix = prefix; o.Tenant = "other"; });
        await harness.Consumer.ProcessOnceAsync();
        await CacheViewAsync(harness.Cache, 1);
        await CacheViewAsync(harness.Cache, 2);
        await otherTenant.SetAsync(CacheKey.Create("k"), "other tenant's");
        RedisEventStream stream = harness.Stream();
        InvalidationEvent lost = ProductUpdated(1);
        await stream.PublishAsync(lost.Id, InvalidationEventJson.Serialize(lost));
        await harness.Redis.StreamTrimAsync(harness.StreamKey, 0); // someone else's MAXLEN: the event is gone unread

        await harness.Consumer.ProcessOnceAsync();
        InvalidationEvent later = ProductUpdated(3);
        await CacheViewAsync(harness.Cache, 3);
        await stream.PublishAsync(later.Id, InvalidationEventJson.Serialize(later));
        await harness.Consumer.ProcessOnceAsync();

        Assert.Equal(1, metrics["cacheinvalidation.events/gap"]);
        Assert.False((await harness.Cache.GetAsync<string>(CacheKey.Entity("product-view", 1))).Found); // the lost event's target…
        Assert.False((await harness.Cache.GetAsync<string>(CacheKey.Entity("product-view", 2))).Found); // …and, failing safe, everything
        Assert.False((await otherTenant.GetAsync<string>(CacheKey.Create("k"))).Found);
        Assert.False((await harness.Cache.GetAsync<string>(CacheKey.Entity("product-view", 3))).Found); // the next event applied
        Assert.Equal(1, metrics["cacheinvalidation.events/applied"]);
    }

    [Theory]
    [InlineData("""{"id":"n1","type":"t","keys":[null]}""")]
    [InlineData("""{"id":"n2","type":"t","sources":[null]}""")]
    [InlineData("""{"id":"n3","type":"t","keys":[{"id":"x"}]}""")]
    [InlineData("""{"id":"n4","type":"t","namespaces":null}""")]
    [InlineData("""{"id":"n5","type":"t","keys":[{"namespace":"a b","id":"x"}]}""")]
    [InlineData("""{"id":"n6","type":"t","sources":["product:*"]}""")]
    [InlineData("""{"id":"n7","type":"t","tenant":"a:b","invalidateAll":true}""")]
    [InlineData("""[]""")]
    [InlineData("\"text\"")]
    [InlineData("")]
    public async Task Poison_entry_of_any_shape_is_dead_lettered_and_never_stalls_the_consumer(string json)
    {
        using var harness = new EventHarness(redis, o => o.MaxAttempts = 2);
        await CacheViewAsync(harness.Cache, 1);
        await harness.Consumer.ProcessOnceAsync();
        await harness.Redis.StreamAddAsync(harness.StreamKey, [new NameValueEntry("id", "poison"), new NameValueEntry("event", json)]);
        InvalidationEvent good = ProductUpdated(1);
        await harness.Stream().PublishAsync(good.Id, InvalidationEventJson.Serialize(good));

        for (int pass = 0; pass < 4; pass++)
        {
            await harness.Consumer.ProcessOnceAsync(); // never throws because of an entry
        }

        Assert.Single(await harness.Redis.StreamRangeAsync(harness.StreamKey + ":dead"));
        Assert.False((await harness.Cache.GetAsync<string>(CacheKey.Entity("product-view", 1))).Found);
        Assert.Equal(0, (await harness.Redis.StreamPendingAsync(harness.StreamKey, harness.Options.Group)).PendingMessageCount);
    }

    [Fact]
    public async Task Consumer_recovers_by_itself_after_a_restart_that_lost_the_stream_and_its_group()
    {
        RedisServerProcess server = RedisServerProcess.Start();
        using var stop = new CancellationTokenSource();
        try
        {
            await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",abortConnect=false");
            using SmartCache cache = TestCache.Create(connection, TestCache.ProductionTimeouts);
            using var metrics = new MetricRecorder();
            var stream = new RedisEventStream(RedisConnection.FromExisting(connection), $"{{{cache.Layout.Prefix}}}:events");
            var options = new InvalidationConsumerOptions { ConsumerName = "node-a", PollInterval = TimeSpan.FromMilliseconds(20) };
            var consumer = new InvalidationConsumer(cache, stream, new FixedOptionsMonitor<InvalidationConsumerOptions>(options), null, null);
            Task running = consumer.RunAsync(stop.Token);
            await Eventually.HoldsAsync(async () => await connection.GetDatabase().KeyExistsAsync(stream.StreamKey), "the consumer did not create its group");

            server.Dispose();
            server = server.RestartEmpty(); // stream and group are gone
            await Eventually.HoldsAsync(() => Task.FromResult(metrics["cacheinvalidation.events/group-lost"] > 0), "the consumer did not notice its group was lost");

            await CacheViewAsync(cache, 1);
            InvalidationEvent after = ProductUpdated(1);
            await stream.PublishAsync(after.Id, InvalidationEventJson.Serialize(after));
            await Eventually.HoldsAsync(
                async () => metrics["cacheinvalidation.events/applied"] >= 1 && !(await cache.GetAsync<string>(CacheKey.Entity("product-view", 1))).Found,
                "an event published after the restart was not applied");
            await stop.CancelAsync();
            await running;

            Assert.True(metrics["cacheinvalidation.events/applied"] >= 1);
        }
        finally
        {
            server.Dispose();
        }
    }

    [Fact]
    public async Task Consumer_started_while_redis_is_frozen_keeps_running_and_subscribes_to_the_announcements_once_it_answers()
    {
        using RedisServerProcess server = RedisServerProcess.Start();
        var frozen = new FakeTimeProvider(DateTimeOffset.UtcNow); // its poll never ends unless the clock is moved: only an announcement wakes it
        using var stop = new CancellationTokenSource();
        try
        {
            await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",abortConnect=false,asyncTimeout=300");
            using SmartCache cache = TestCache.Create(connection, TestCache.ProductionTimeouts);
            var stream = new RedisEventStream(RedisConnection.FromExisting(connection), $"{{{cache.Layout.Prefix}}}:events");
            var options = new InvalidationConsumerOptions { ConsumerName = "node-a", PollInterval = TimeSpan.FromMinutes(10) };
            var consumer = new InvalidationConsumer(cache, stream, new FixedOptionsMonitor<InvalidationConsumerOptions>(options), null, frozen);
            server.Pause(); // SIGSTOP by pid: connected but silent, so the subscription times out
            Task running = consumer.RunAsync(stop.Token);
            await Task.Delay(1_000); // the subscription and the first pass time out (not an assertion on time)
            Assert.False(running.IsCompleted, "a consumer must not end because Redis did not answer at its start");

            server.Resume();
            await Eventually.HoldsAsync(async () => { try { await connection.GetDatabase().PingAsync(); return true; } catch (RedisException) { return false; } }, "Redis answers again");
            frozen.Advance(TimeSpan.FromMinutes(11)); // one poll: the pass runs and the subscription is tried again
            await Eventually.HoldsAsync(async () => await connection.GetDatabase().KeyExistsAsync(stream.StreamKey), "the consumer's pass creates its group");

            await CacheViewAsync(cache, 1);
            InvalidationEvent invalidation = ProductUpdated(1);
            await stream.PublishAsync(invalidation.Id, InvalidationEventJson.Serialize(invalidation));
            await stream.AnnounceAsync();

            await Eventually.HoldsAsync(async () => !(await cache.GetAsync<string>(CacheKey.Entity("product-view", 1))).Found, "the announcement wakes the consumer");
            await stop.CancelAsync();
            await running;
        }
        finally
        {
            server.Resume();
        }
    }
}
