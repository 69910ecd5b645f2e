using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Events;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Events;
using CacheInvalidation.Tests.Infrastructure;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.KillSwitch;

/// <summary>The kill switch's audit, argument checks, metrics, and the event consumer under it.</summary>
[Collection(RedisCollection.Name)]
public sealed class KillSwitchAdministrationTests(RedisFixture redis)
{
    [Fact]
    public async Task Audit_stream_records_actor_and_reason_when_the_switch_is_engaged_and_lifted()
    {
        string prefix = KillSwitchTests.NewPrefix();
        SmartCacheAdministration admin = KillSwitchTests.Admin(prefix, redis.Admin);

        await admin.SuspendAggressiveInvalidationAsync("alice@ops", "incident 7: scans saturate the primary");
        AggressiveInvalidationStatus lifted = await admin.ResumeAggressiveInvalidationAsync("bob@ops", "incident 7 closed");

        StreamEntry[] audit = await redis.Admin.GetDatabase().StreamRangeAsync($"{{{prefix}}}:audit");
        Assert.Equal(2, audit.Length);
        Assert.Equal(("suspended", "kill-switch", "alice@ops", "incident 7: scans saturate the primary"), Fields(audit[0]));
        Assert.Equal(("resumed", "kill-switch", "bob@ops", "incident 7 closed"), Fields(audit[1]));
        Assert.False(lifted.Suspended);
        Assert.Equal("bob@ops", lifted.Actor);
        Assert.Equal("incident 7 closed", lifted.Reason);
        Assert.NotNull(lifted.ChangedAt);
        Assert.Equal(lifted, await admin.GetAggressiveInvalidationStatusAsync());
    }

    [Theory]
    [InlineData(true, "", "why", "actor")]
    [InlineData(true, " ", "why", "actor")]
    [InlineData(true, "ops", "", "reason")]
    [InlineData(false, "ops", " ", "reason")]
    [InlineData(false, null, "why", "actor")]
    public async Task Switch_changes_without_actor_or_reason_are_rejected_naming_the_argument(bool suspend, string? actor, string reason, string parameter)
    {
        string prefix = KillSwitchTests.NewPrefix();
        SmartCacheAdministration admin = KillSwitchTests.Admin(prefix, redis.Admin);

        var ex = await Assert.ThrowsAnyAsync<ArgumentException>(async () => await (suspend
            ? admin.SuspendAggressiveInvalidationAsync(actor!, reason)
            : admin.ResumeAggressiveInvalidationAsync(actor!, reason)));

        Assert.Equal(parameter, ex.ParamName);
        IDatabase db = redis.Admin.GetDatabase();
        Assert.False(await db.KeyExistsAsync($"{{{prefix}}}:kill-switch"));
        Assert.False(await db.KeyExistsAsync($"{{{prefix}}}:audit"));
    }

    [Fact]
    public async Task Consumer_diverts_namespace_events_while_engaged_and_still_applies_key_events()
    {
        using var harness = new EventHarness(redis);
        SmartCache cache = harness.Cache;
        await cache.SetAsync(CacheKey.Create("search", "lamps"), "results");
        await cache.SetAsync(CacheKey.Entity("product", 1), "v1");
        await KillSwitchTests.Admin(cache.Layout.Prefix, redis.Admin).SuspendAggressiveInvalidationAsync("ops@example", "reindex storm");
        await harness.Stream().PublishAsync("e1", InvalidationEventJson.Serialize(new InvalidationEvent { Id = "e1", Type = "catalog.reindexed", Namespaces = ["search"] }));
        await harness.Stream().PublishAsync("e2", InvalidationEventJson.Serialize(new InvalidationEvent { Id = "e2", Type = "product.renamed", Keys = [new EventKey("product", "1")] }));

        await redis.ResetStatsAsync();
        int handled = await harness.Consumer.ProcessOnceAsync();
        long scans = await redis.CommandCallsAsync("scan");

        Assert.Equal(2, handled);
        Assert.Equal(0, scans); // no scan ran…
        Assert.False((await cache.GetAsync<string>(CacheKey.Create("search", "lamps"))).Found); // …the namespace is invalidated
        Assert.False((await cache.GetAsync<string>(CacheKey.Entity("product", 1))).Found); // …and so is the key
        Assert.Equal(0, (await redis.Admin.GetDatabase().StreamPendingAsync(harness.StreamKey, harness.Options.Group)).PendingMessageCount); // both acknowledged
    }

    [Fact]
    public async Task Held_back_operations_are_counted_and_the_gauge_shows_the_switch()
    {
        using var meter = new Meter("CacheInvalidation");
        var metrics = new CacheMetrics(meter, "kill-switch-test");
        var options = new SmartCacheOptions { KeyPrefix = KillSwitchTests.NewPrefix() };
        RedisConnection connection = RedisConnection.FromExisting(redis.Admin, new StoreResilience(options.Resilience, null, null, metrics));
        using var cache = new SmartCache(options, connection, ownsConnection: false, null, null);
        var admin = new SmartCacheAdministration(options, connection, null, null);
        using var recorder = new InstrumentRecorder(meter);

        double idle = recorder.Gauge("cacheinvalidation.kill_switch.engaged");
        options.SuspendAggressiveInvalidation = true; // a cache built without a monitor reads its options object in place
        double byOptions = recorder.Gauge("cacheinvalidation.kill_switch.engaged");
        await cache.InvalidateNamespaceAsync("docs");
        await Assert.ThrowsAsync<AggressiveInvalidationSuspendedException>(async () => await admin.PurgeTenantAsync("default", "ops", "why"));
        await Assert.ThrowsAsync<AggressiveInvalidationSuspendedException>(async () => await admin.PurgeAllTenantsAsync("ops", "why"));
        options.SuspendAggressiveInvalidation = false;
        double lifted = recorder.Gauge("cacheinvalidation.kill_switch.engaged");
        await admin.SuspendAggressiveInvalidationAsync("ops", "why");
        double byAdministration = recorder.Gauge("cacheinvalidation.kill_switch.engaged");

        Assert.Equal((0, 1, 0, 1), (idle, byOptions, lifted, byAdministration));
        Assert.Equal(1, recorder["cacheinvalidation.kill_switch.operations/namespace,diverted"]);
        Assert.Equal(1, recorder["cacheinvalidation.kill_switch.operations/purge,refused"]);
        Assert.Equal(1, recorder["cacheinvalidation.kill_switch.operations/all-tenants,refused"]);
    }

    [Fact]
    public void Switch_key_is_outside_every_purge_pattern_and_shares_the_audit_streams_hash_tag()
    {
        string key = PrefixKeys.KillSwitchKey("shop:eu");

        Assert.Equal("{shop:eu}:kill-switch", key);
        Assert.False(PrefixKeys.IsPrefixKey("shop:eu", key)); // no purge of the prefix removes it
        Assert.False(PrefixKeys.IsPrefixKey("shop", key));
        Assert.False(new KeyLayout("shop:eu", "default", 4).IsTenantKey(key));
        Assert.Equal(KeyLayout.TagOf(PrefixKeys.AuditStreamKey("shop:eu")), KeyLayout.TagOf(key)); // one transaction on a cluster
    }

    private static (string, string, string, string) Fields(StreamEntry entry) =>
        (entry["phase"].ToString(), entry["scope"].ToString(), entry["actor"].ToString(), entry["reason"].ToString());

    /// <summary>Counters (summed by name and tag values) and gauges of one meter.</summary>
    private sealed class InstrumentRecorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _counters = new();
        private readonly ConcurrentDictionary<string, double> _gauges = new();

        public InstrumentRecorder(Meter meter)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter == meter)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                string key = instrument.Name + "/" + string.Join(",", tags.ToArray().Where(t => t.Key != CacheTelemetry.CacheNameAttribute).Select(t => t.Value));
                _counters.AddOrUpdate(key, value, (_, total) => total + value);
            });
            _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => _gauges[instrument.Name] = value);
            _listener.Start();
        }

        public long this[string name] => _counters.GetValueOrDefault(name);

        /// <summary>Observes the gauges now; the value of <paramref name="name"/>, or -1 when it reported nothing.</summary>
        public double Gauge(string name)
        {
            _gauges.TryRemove(name, out _);
            _listener.RecordObservableInstruments();
            return _gauges.GetValueOrDefault(name, -1);
        }

        public void Dispose() => _listener.Dispose();
    }
}
