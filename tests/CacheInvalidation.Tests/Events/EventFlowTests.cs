using System.Diagnostics;
using CacheInvalidation.Events;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace CacheInvalidation.Tests.Events;

/// <summary>Outbox → relay → Redis Stream → consumer group, against a real SQLite file and a real Redis.</summary>
[Collection(RedisCollection.Name)]
public sealed class EventFlowTests(RedisFixture redis, ITestOutputHelper output)
{
    private static InvalidationEvent ProductUpdated(int id, long version, string? eventId = null) => new()
    {
        Id = eventId ?? Guid.NewGuid().ToString("N"),
        Type = "product.updated",
        Entity = $"product:{id}",
        EntityVersion = version,
        Sources = [$"product:{id}"],
    };

    private static async Task CacheViewAsync(SmartCache cache, int id) =>
        await cache.SetAsync(CacheKey.Entity("product-view", id), $"view {id}", new CacheEntryOptions { DependsOn = [$"product:{id}", "seller:7"] });

    private static async Task<bool> CachedAsync(SmartCache cache, int id) =>
        (await cache.GetAsync<string>(CacheKey.Entity("product-view", id))).Found;


    [Fact]
    public async Task Committed_change_reaches_the_cache_through_outbox_relay_and_consumer()
    {
        using var harness = new EventHarness(redis);
        await CacheViewAsync(harness.Cache, 1);
        await CacheViewAsync(harness.Cache, 2);
        using var stop = new CancellationTokenSource();
        Task relay = harness.Relay.RunAsync(stop.Token);
        Task consumer = harness.Consumer.RunAsync(stop.Token);

        var watch = Stopwatch.StartNew();
        await harness.UpdateProductAsync(1, "Desk lamp v2", ProductUpdated(1, 2));
        await Eventually.HoldsAsync(async () => !await CachedAsync(harness.Cache, 1), "the dependent view was not invalidated");
        output.WriteLine($"commit → dependent gone in {watch.Elapsed.TotalMilliseconds:F1} ms");

        // The consumer may apply the event before the relay has marked its row and before the consumer acknowledges it:
        // both must follow, before anything is stopped.
        await Eventually.HoldsAsync(async () => await harness.UndispatchedAsync() == 0, "the relay never marked the row dispatched");
        await Eventually.HoldsAsync(
            async () => (await harness.Redis.StreamPendingAsync(harness.StreamKey, harness.Options.Group)).PendingMessageCount == 0,
            "the consumer never acknowledged the entry");
        await stop.CancelAsync();
        await Task.WhenAll(relay, consumer);

        Assert.True(await CachedAsync(harness.Cache, 2)); // only the changed product's dependents
        Assert.Equal(0, await harness.UndispatchedAsync());
    }

    [Fact]
    public async Task Rolled_back_transaction_publishes_nothing()
    {
        using var harness = new EventHarness(redis);
        await CacheViewAsync(harness.Cache, 1);

        await harness.UpdateProductAsync(1, "never committed", ProductUpdated(1, 2), commit: false);
        int published = await harness.Relay.RelayOnceAsync();
        await harness.Consumer.ProcessOnceAsync();

        Assert.Equal(0, published);
        Assert.Equal(0, await harness.Redis.StreamLengthAsync(harness.StreamKey));
        Assert.True(await CachedAsync(harness.Cache, 1));
    }

    [Fact]
    public async Task Relay_killed_after_publishing_loses_nothing_and_the_duplicate_is_harmless()
    {
        using var harness = new EventHarness(redis);
        using var metrics = new MetricRecorder();
        await CacheViewAsync(harness.Cache, 1);
        await harness.UpdateProductAsync(1, "v2", ProductUpdated(1, 2));

        harness.Relay.AfterPublish = _ => throw new IOException("relay process killed before marking the row");
        await Assert.ThrowsAsync<IOException>(() => harness.Relay.RelayOnceAsync());
        Assert.Equal(1, await harness.UndispatchedAsync()); // still owed
        harness.Relay.AfterPublish = null;
        Assert.Equal(1, await harness.Relay.RelayOnceAsync()); // published again: a duplicate on the stream
        await harness.Consumer.ProcessOnceAsync();

        Assert.Equal(0, await harness.UndispatchedAsync());
        Assert.True(await harness.Redis.StreamLengthAsync(harness.StreamKey) <= 1); // both acknowledged, so trimmed (the last read stays)
        Assert.False(await CachedAsync(harness.Cache, 1));
        Assert.Equal(1, metrics["cacheinvalidation.events/applied"]);
        Assert.Equal(1, metrics["cacheinvalidation.events/duplicate"]);
    }

    [Fact]
    public async Task Stopped_consumer_leaves_entries_cached_then_a_live_one_claims_its_pending_events()
    {
        using var harness = new EventHarness(redis, o => o.ClaimIdleTime = TimeSpan.FromMilliseconds(200));
        await CacheViewAsync(harness.Cache, 1);
        await CacheViewAsync(harness.Cache, 2);
        await harness.Consumer.ProcessOnceAsync(); // creates the group
        await harness.UpdateProductAsync(1, "v2", ProductUpdated(1, 2));
        await harness.UpdateProductAsync(2, "v2", ProductUpdated(2, 2));
        await harness.Relay.RelayOnceAsync();

        // Node A reads both events and dies before applying them: they stay pending under its name.
        StreamEntry[] taken = await harness.Redis.StreamReadGroupAsync(harness.StreamKey, harness.Options.Group, "node-a", StreamPosition.NewMessages, 10);
        Assert.Equal(2, taken.Length);
        Assert.True(await CachedAsync(harness.Cache, 1)); // bounded staleness while nobody consumes

        InvalidationConsumer nodeB = harness.CreateConsumer(new InvalidationConsumerOptions { ConsumerName = "node-b", ClaimIdleTime = TimeSpan.FromMilliseconds(200) });
        await Task.Delay(250); // let A's entries idle past the claim time
        int handled = await nodeB.ProcessOnceAsync();

        Assert.Equal(2, handled);
        Assert.False(await CachedAsync(harness.Cache, 1));
        Assert.False(await CachedAsync(harness.Cache, 2));
        Assert.Equal(0, (await harness.Redis.StreamPendingAsync(harness.StreamKey, harness.Options.Group)).PendingMessageCount);
    }

    [Fact]
    public async Task Older_event_for_an_entity_is_ignored_after_a_newer_one()
    {
        using var harness = new EventHarness(redis);
        using var metrics = new MetricRecorder();
        await harness.Cache.SetAsync(CacheKey.Create("older-target"), 1);
        var newer = new InvalidationEvent { Type = "price.changed", Entity = "product:9", EntityVersion = 5, Keys = [new EventKey("", "newer-target")] };
        var older = new InvalidationEvent { Type = "price.changed", Entity = "product:9", EntityVersion = 4, Keys = [new EventKey("", "older-target")] };
        RedisEventStreamPublisher publisher = new(harness);

        await publisher.PublishAsync(newer);
        await publisher.PublishAsync(older); // delivered out of order
        await harness.Consumer.ProcessOnceAsync();

        Assert.Equal(1, metrics["cacheinvalidation.events/applied"]);
        Assert.Equal(1, metrics["cacheinvalidation.events/out-of-order"]);
        Assert.True((await harness.Cache.GetAsync<int>(CacheKey.Create("older-target"))).Found); // the stale event changed nothing
    }

    [Fact]
    public async Task Poison_events_are_dead_lettered_with_a_reason_and_the_next_good_one_is_applied()
    {
        using var harness = new EventHarness(redis, o => { o.MaxAttempts = 2; o.Map("always.fails", _ => throw new InvalidOperationException("handler bug")); });
        await CacheViewAsync(harness.Cache, 1);
        RedisEventStreamPublisher publisher = new(harness);
        await harness.Redis.StreamAddAsync(harness.StreamKey, [new NameValueEntry("id", "x"), new NameValueEntry("event", "{not json")]);
        await publisher.PublishAsync(new InvalidationEvent { Type = "nobody.handles.this" });
        await publisher.PublishAsync(new InvalidationEvent { Type = "always.fails" });
        await publisher.PublishAsync(ProductUpdated(1, 2));

        for (int pass = 0; pass < 4; pass++)
        {
            await harness.Consumer.ProcessOnceAsync();
        }

        StreamEntry[] dead = await harness.Redis.StreamRangeAsync(harness.StreamKey + ":dead");
        Assert.Equal(3, dead.Length);
        Assert.Contains(dead, d => ((string)d["reason"]!).StartsWith("Not an invalidation event", StringComparison.Ordinal));
        Assert.Contains(dead, d => ((string)d["reason"]!).Contains("Unknown event type 'nobody.handles.this'", StringComparison.Ordinal));
        Assert.Contains(dead, d => ((string)d["reason"]!).Contains("Failed 2 times; last error: handler bug", StringComparison.Ordinal));
        Assert.False(await CachedAsync(harness.Cache, 1));
        Assert.Equal(0, (await harness.Redis.StreamPendingAsync(harness.StreamKey, harness.Options.Group)).PendingMessageCount);
    }

    [Fact]
    public async Task Handlers_map_event_types_to_projections()
    {
        using var harness = new EventHarness(redis, o => o.Map("product.updated", e =>
        [
            InvalidationAction.Key("product-detail", e.Entity!.Split(':')[1]),
            InvalidationAction.Namespace("search"),
        ]));
        await harness.Cache.SetAsync(CacheKey.Create("product-detail", "3"), "detail");
        await harness.Cache.SetAsync(CacheKey.Create("search", "lamps"), "results");
        await harness.Cache.SetAsync(CacheKey.Create("summary", "home"), "cards");

        await new RedisEventStreamPublisher(harness).PublishAsync(new InvalidationEvent { Type = "product.updated", Entity = "product:3", EntityVersion = 1 });
        await harness.Consumer.ProcessOnceAsync();

        Assert.False((await harness.Cache.GetAsync<string>(CacheKey.Create("product-detail", "3"))).Found);
        Assert.False((await harness.Cache.GetAsync<string>(CacheKey.Create("search", "lamps"))).Found);
        Assert.True((await harness.Cache.GetAsync<string>(CacheKey.Create("summary", "home"))).Found);
    }

    [Fact]
    public async Task Dry_run_reports_and_deletes_nothing()
    {
        using var harness = new EventHarness(redis, o => o.DryRun = true);
        using var metrics = new MetricRecorder();
        await CacheViewAsync(harness.Cache, 1);

        await new RedisEventStreamPublisher(harness).PublishAsync(ProductUpdated(1, 2));
        await harness.Consumer.ProcessOnceAsync();

        Assert.True(await CachedAsync(harness.Cache, 1));
        Assert.Equal(1, metrics["cacheinvalidation.events/dry-run"]);
    }

    [Fact]
    public async Task Paused_scans_still_invalidate_through_the_namespace_version()
    {
        using var harness = new EventHarness(redis, o => o.PauseNamespaceScans = true);
        await harness.Cache.SetAsync(CacheKey.Create("search", "lamps"), "results");

        await new RedisEventStreamPublisher(harness).PublishAsync(new InvalidationEvent { Type = "catalog.reindexed", Namespaces = ["search"] });
        await redis.ResetStatsAsync();
        await harness.Consumer.ProcessOnceAsync();

        Assert.Equal(0, await redis.CommandCallsAsync("scan")); // no scan ran…
        Assert.False((await harness.Cache.GetAsync<string>(CacheKey.Create("search", "lamps"))).Found); // …and the entry is invalidated
    }

    /// <summary>Publishes straight to the stream, as the relay does, to stage deliveries the outbox would not produce.</summary>
    private sealed class RedisEventStreamPublisher(EventHarness harness)
    {
        public Task<string> PublishAsync(InvalidationEvent invalidation) =>
            harness.Stream().PublishAsync(invalidation.Id, InvalidationEventJson.Serialize(invalidation));
    }
}
