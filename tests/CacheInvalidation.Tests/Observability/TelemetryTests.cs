using System.Diagnostics;
using System.Diagnostics.Metrics;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace CacheInvalidation.Tests.Observability;

[Collection(RedisCollection.Name)]
public sealed class TelemetryTests(RedisFixture redis)
{
    [Fact]
    public async Task Spans_and_metrics_reach_an_OpenTelemetry_exporter_named_after_the_cache()
    {
        var activities = new List<Activity>();
        var metrics = new List<Metric>();
        using TracerProvider tracing = Sdk.CreateTracerProviderBuilder().AddCacheInvalidationInstrumentation().AddInMemoryExporter(activities).Build();
        using MeterProvider metering = Sdk.CreateMeterProviderBuilder().AddCacheInvalidationInstrumentation().AddInMemoryExporter(metrics).Build();
        await using ServiceProvider provider = Orders(redis);
        ISmartCache cache = provider.GetRequiredKeyedService<ISmartCache>("orders");
        CacheKey key = CacheKey.Entity("product", 1);

        await cache.GetOrSetAsync(key, _ => ValueTask.FromResult(1)); // miss: factory, write
        await cache.GetOrSetAsync(key, _ => ValueTask.FromResult(2)); // hit
        await cache.InvalidateKeyAsync(key);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await cache.GetOrSetAsync<int>(key, _ => throw new InvalidOperationException("source down")));
        tracing.ForceFlush();
        metering.ForceFlush();

        Activity[] reads = activities.Where(a => a.OperationName == "cacheinvalidation.get_or_set").ToArray();
        Activity[] factories = activities.Where(a => a.OperationName == "cacheinvalidation.factory").ToArray();
        Assert.Equal(["miss", "hit", "miss"], reads.Select(a => (string?)a.GetTagItem("cacheinvalidation.result")));
        Assert.All(reads, a => Assert.Equal("orders", a.GetTagItem(CacheTelemetry.CacheNameAttribute)));
        Assert.All(reads, a => Assert.Equal("product", a.GetTagItem("cacheinvalidation.namespace")));
        Assert.Contains(reads[0].Events, e => e.Name == "cacheinvalidation.write" && e.Tags.Any(t => t.Value as string == "written"));
        Assert.Equal(2, factories.Length);
        Assert.Equal(reads[0].SpanId, factories[0].ParentSpanId);
        Assert.Equal(ActivityStatusCode.Error, factories[1].Status);
        Assert.Equal(ActivityStatusCode.Error, reads[2].Status);
        Activity invalidation = Assert.Single(activities, a => a.OperationName == "cacheinvalidation.invalidate");
        Assert.Equal("key", invalidation.GetTagItem("cacheinvalidation.invalidation.kind"));

        Assert.All(metrics, m => Assert.StartsWith("cacheinvalidation.", m.Name, StringComparison.Ordinal)); // cannot collide with another library's
        Assert.Equal(1, Sum(metrics, "cacheinvalidation.requests", "hit"));
        Assert.Equal(2, Sum(metrics, "cacheinvalidation.requests", "miss"));
        Metric factoryDuration = Assert.Single(metrics, m => m.Name == "cacheinvalidation.factory.duration");
        Assert.Equal("s", factoryDuration.Unit);
        Assert.Equal(MetricType.Histogram, factoryDuration.MetricType);
        Assert.Equal(2, HistogramCount(factoryDuration));
        Metric invalidationDuration = Assert.Single(metrics, m => m.Name == "cacheinvalidation.invalidation.duration");
        Assert.Equal("s", invalidationDuration.Unit);
        Assert.Equal(1, HistogramCount(invalidationDuration));
    }

    [Fact]
    public async Task The_meter_comes_from_the_application_meter_factory()
    {
        await using ServiceProvider provider = Orders(redis);
        IMeterFactory factory = provider.GetRequiredService<IMeterFactory>();
        var scopes = new List<object?>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "cacheinvalidation.requests")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == CacheTelemetry.CacheNameAttribute && tag.Value as string == "orders")
                {
                    lock (scopes)
                    {
                        scopes.Add(instrument.Meter.Scope);
                    }
                }
            }
        });
        listener.Start();

        await provider.GetRequiredKeyedService<ISmartCache>("orders").GetOrSetAsync(CacheKey.Create("k"), _ => ValueTask.FromResult(1));

        object? scope = Assert.Single(scopes);
        Assert.Same(factory, scope);
    }

    [Fact]
    public async Task Without_a_listener_no_span_is_created_and_reads_still_work()
    {
        await using ServiceProvider provider = Orders(redis);
        ISmartCache cache = provider.GetRequiredKeyedService<ISmartCache>("orders");
        int calls = 0;

        // No tracer provider here: the source has no listener (other tests' providers are disposed by now), so the read
        // takes its untraced path; counting factory calls shows it is the same read.
        Assert.False(new ActivitySource(CacheTelemetry.ActivitySourceName).HasListeners());
        Assert.Equal(1, await cache.GetOrSetAsync(CacheKey.Create("k"), _ => ValueTask.FromResult(++calls)));
        Assert.Equal(1, await cache.GetOrSetAsync(CacheKey.Create("k"), _ => ValueTask.FromResult(++calls)));
        Assert.Equal(1, calls);
        Assert.Null(Activity.Current);
    }

    private static ServiceProvider Orders(RedisFixture redis)
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        string prefix = "otel" + Guid.NewGuid().ToString("N")[..8];
        services.AddSmartCache("orders", o =>
        {
            TestCache.Patient(o);
            o.KeyPrefix = prefix;
            o.LocalCache.Enabled = false; // every read goes to Redis: the spans show hit and miss
        }).WithConnectionMultiplexer(redis.Admin);
        return services.BuildServiceProvider();
    }

    private static long Sum(List<Metric> metrics, string name, string result)
    {
        long total = 0;
        foreach (Metric metric in metrics.Where(m => m.Name == name))
        {
            foreach (ref readonly MetricPoint point in metric.GetMetricPoints())
            {
                bool named = false, matches = false;
                foreach (KeyValuePair<string, object?> tag in point.Tags)
                {
                    named |= tag.Key == CacheTelemetry.CacheNameAttribute && tag.Value as string == "orders";
                    matches |= tag.Key == "cacheinvalidation.result" && tag.Value as string == result;
                }

                if (named && matches)
                {
                    total += point.GetSumLong();
                }
            }
        }

        return total;
    }

    private static long HistogramCount(Metric metric)
    {
        long count = 0;
        foreach (ref readonly MetricPoint point in metric.GetMetricPoints())
        {
            count += point.GetHistogramCount();
        }

        return count;
    }
}
