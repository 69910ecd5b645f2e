using CacheInvalidation.Events;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Events;

[Collection(RedisCollection.Name)]
public sealed class ConsumerHostingTests(RedisFixture redis)
{
    [Fact]
    public async Task Hosted_consumer_applies_events_and_stops_gracefully_leaving_the_rest_pending()
    {
        string prefix = "host" + Guid.NewGuid().ToString("N")[..8];
        var services = new ServiceCollection();
        services.AddSmartCache(o => { TestCache.Patient(o); o.KeyPrefix = prefix; })
            .WithConnectionMultiplexer(redis.Admin)
            .AddInvalidationConsumer(o => { o.ConsumerName = "hosted"; o.PollInterval = TimeSpan.FromMilliseconds(10); });
        await using ServiceProvider provider = services.BuildServiceProvider();
        ISmartCache cache = provider.GetRequiredService<ISmartCache>();
        IHostedService hosted = provider.GetServices<IHostedService>().Single(s => s.GetType().Name == "InvalidationConsumerService");
        await cache.SetAsync(CacheKey.Create("a"), 1);
        await cache.SetAsync(CacheKey.Create("b"), 1);
        IDatabase db = redis.Admin.GetDatabase();
        string stream = $"{{{prefix}}}:events";
        await db.StreamAddAsync(stream, [new NameValueEntry("id", "e1"), new NameValueEntry("event", InvalidationEventJson.Serialize(new InvalidationEvent { Id = "e1", Type = "t", Keys = [new EventKey("", "a")] }))]);

        await hosted.StartAsync(CancellationToken.None);
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await cache.GetAsync<int>(CacheKey.Create("a"))).Found)
        {
            Assert.True(DateTime.UtcNow < deadline, "the hosted consumer did not apply the event");
            await Task.Delay(10);
        }

        await hosted.StopAsync(CancellationToken.None);
        await db.StreamAddAsync(stream, [new NameValueEntry("id", "e2"), new NameValueEntry("event", InvalidationEventJson.Serialize(new InvalidationEvent { Id = "e2", Type = "t", Keys = [new EventKey("", "b")] }))]);
        await Task.Delay(100);

        Assert.True((await cache.GetAsync<int>(CacheKey.Create("b"))).Found); // stopped: nothing consumed after shutdown
        Assert.Equal(0, (await db.StreamPendingAsync(stream, "cache-invalidation")).PendingMessageCount);
        Assert.Equal(1, await provider.GetRequiredService<InvalidationConsumer>().ProcessOnceAsync()); // the next run picks it up
        Assert.False((await cache.GetAsync<int>(CacheKey.Create("b"))).Found);
    }
}
