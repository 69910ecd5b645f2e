using System.Data.Common;
using CacheInvalidation.Events;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Events;

/// <summary>The relay on SQLite: many relays and one copy (leases), a relay dying mid-batch, retention, the pending index, wake-ups.</summary>
[Collection(RedisCollection.Name)]
public sealed class OutboxRelaySqliteTests(RedisFixture redis)
{
    private static InvalidationEvent ProductUpdated(int id) => new() { Type = "product.updated", Entity = $"product:{id}", EntityVersion = 2, Sources = [$"product:{id}"] };

    [Fact]
    public async Task Three_relays_at_once_publish_every_row_exactly_once()
    {
        using var harness = new EventHarness(redis);
        const int Events = 600;
        await AppendAsync(harness, Enumerable.Range(0, Events));
        OutboxRelay[] relays = [.. Enumerable.Range(0, 3).Select(i => Relay(harness, "relay-" + i, batchSize: 25))];

        int[] published = await Relays.DrainAsync(relays);

        StreamEntry[] entries = await harness.Redis.StreamRangeAsync(harness.StreamKey);
        Assert.Equal(Events, published.Sum());
        Assert.Equal(Events, entries.Length);
        Assert.Equal(Events, entries.Select(e => (string?)e["id"]).Distinct().Count());
        Assert.Equal(0, await harness.UndispatchedAsync());
        Assert.True(published.Count(p => p > 0) >= 2, $"the relays shared the work: {string.Join(", ", published)}");
    }

    [Fact]
    public async Task A_relay_dead_mid_batch_leaves_its_rows_to_another_after_the_lease_and_nothing_is_lost()
    {
        using var harness = new EventHarness(redis);
        using var metrics = new MetricRecorder();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => harness.Cache.SetAsync(CacheKey.Entity("product-view", i), "v1", new CacheEntryOptions { DependsOn = [$"product:{i}"] }).AsTask()));
        await AppendAsync(harness, Enumerable.Range(0, 10));
        OutboxRelay dying = Relay(harness, "dying", batchSize: 4, clock);
        OutboxRelay survivor = Relay(harness, "survivor", batchSize: 100, clock);
        dying.AfterPublish = _ => throw new IOException("the relay's process was killed after publishing, before marking");

        await Assert.ThrowsAsync<IOException>(() => dying.RelayOnceAsync());
        Assert.Equal(6, await survivor.RelayOnceAsync()); // the dying relay's 4 rows are still leased
        Assert.Equal(0, await survivor.RelayOnceAsync());
        clock.Advance(TimeSpan.FromSeconds(31)); // the lease (ClaimTimeout, 30 s) ends
        Assert.Equal(4, await survivor.RelayOnceAsync());
        for (int pass = 0; pass < 5; pass++)
        {
            await harness.Consumer.ProcessOnceAsync();
        }

        Assert.Equal(0, await harness.UndispatchedAsync());
        Assert.Equal(10, metrics["cacheinvalidation.events/applied"]);
        Assert.Equal(4, metrics["cacheinvalidation.events/duplicate"]); // published twice, applied once
        foreach (int i in Enumerable.Range(0, 10))
        {
            Assert.False((await harness.Cache.GetAsync<string>(CacheKey.Entity("product-view", i))).Found);
        }
    }

    [Fact]
    public async Task Dispatched_rows_are_deleted_after_the_retention_and_pending_ones_never()
    {
        using var harness = new EventHarness(redis);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        OutboxRelay relay = Relay(harness, "r", batchSize: 100, clock, retention: TimeSpan.FromMinutes(10));
        await AppendAsync(harness, Enumerable.Range(0, 30));
        Assert.Equal(30, await relay.RelayOnceAsync());
        clock.Advance(TimeSpan.FromMinutes(5));
        await AppendAsync(harness, Enumerable.Range(30, 20));
        Assert.Equal(20, await relay.RelayOnceAsync()); // dispatched 5 min after the first 30
        await AppendAsync(harness, Enumerable.Range(50, 5));

        clock.Advance(TimeSpan.FromMinutes(6)); // the first 30 are 11 min old, the next 20 are 6 min old
        Assert.Equal(5, await relay.RelayOnceAsync());
        Assert.Equal(25, await RowsAsync(harness));

        clock.Advance(TimeSpan.FromMinutes(11));
        await AppendAsync(harness, Enumerable.Range(55, 3));
        relay.AfterPublish = _ => throw new IOException("Redis failed"); // these three stay pending
        await Assert.ThrowsAsync<IOException>(() => relay.RelayOnceAsync());
        relay.AfterPublish = null;
        await relay.RelayOnceAsync(); // publishes the three, and the retention pass runs

        Assert.Equal(3, await RowsAsync(harness)); // only the rows dispatched just now remain
    }

    [Fact]
    public async Task Polls_and_claims_read_the_pending_index_not_the_table()
    {
        using var harness = new EventHarness(redis);
        await using SqliteConnection connection = harness.Open();
        string plan = await PlanAsync(connection, OutboxDialect.Sqlite.Claim("cache_invalidation_outbox"));
        string cleanup = await PlanAsync(connection, OutboxDialect.Sqlite.DeleteDispatched("cache_invalidation_outbox"));

        Assert.Contains("USING INDEX cache_invalidation_outbox_pending", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN cache_invalidation_outbox\n", plan + "\n", StringComparison.Ordinal);
        Assert.Contains("cache_invalidation_outbox_dispatched", cleanup, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_table_created_by_version_0_1_is_upgraded_and_its_pending_rows_are_published()
    {
        using var harness = new EventHarness(redis);
        await using (SqliteConnection connection = harness.Open())
        {
            await ExecuteAsync(connection, "DROP TABLE cache_invalidation_outbox");
            await ExecuteAsync(connection, "CREATE TABLE cache_invalidation_outbox (id VARCHAR(64) PRIMARY KEY, created_ticks BIGINT NOT NULL, payload TEXT NOT NULL, dispatched_at VARCHAR(40) NULL)");
            await using DbTransaction transaction = await connection.BeginTransactionAsync();
            await harness.Outbox.AppendAsync(transaction, ProductUpdated(1)); // the 0.1 insert names the 0.1 columns only
            await transaction.CommitAsync();
            await harness.Outbox.EnsureSchemaAsync(connection);
            await harness.Outbox.EnsureSchemaAsync(connection); // idempotent
        }

        Assert.Equal(1, await harness.Relay.RelayOnceAsync());
        Assert.Equal(1, await harness.Redis.StreamLengthAsync(harness.StreamKey));
    }

    [Fact]
    public async Task The_relay_announcement_wakes_a_consumer_whose_poll_would_never_come()
    {
        var frozen = new FakeTimeProvider(DateTimeOffset.UtcNow); // never advanced: the consumer's poll interval never ends
        using var harness = new EventHarness(redis, o => o.PollInterval = TimeSpan.FromMinutes(10));
        InvalidationConsumer consumer = new(harness.Cache, harness.Stream(), new FixedOptionsMonitor<InvalidationConsumerOptions>(harness.Options), null, frozen);
        await harness.Cache.SetAsync(CacheKey.Entity("product-view", 1), "v1", new CacheEntryOptions { DependsOn = ["product:1"] });
        await consumer.ProcessOnceAsync(); // the group exists
        using var stop = new CancellationTokenSource();
        Task running = consumer.RunAsync(stop.Token);
        await Task.Delay(200); // let it subscribe and start waiting (not an assertion on time)

        await harness.UpdateProductAsync(1, "v2", ProductUpdated(1));
        Assert.Equal(1, await harness.Relay.RelayOnceAsync());

        await Eventually.HoldsAsync(async () => !(await harness.Cache.GetAsync<string>(CacheKey.Entity("product-view", 1))).Found, "the woken consumer applies the event");
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public void Bad_relay_options_are_named()
    {
        using var harness = new EventHarness(redis);
        var error = Assert.Throws<ArgumentException>(() => new OutboxRelay(new OutboxRelayOptions { OpenConnection = harness.OpenAsync, BatchSize = 0, ClaimTimeout = TimeSpan.Zero, RelayId = "" }, harness.Stream(), null, null));
        Assert.Equal("options", error.ParamName);
        Assert.Contains("BatchSize", error.Message, StringComparison.Ordinal);
        Assert.Contains("ClaimTimeout", error.Message, StringComparison.Ordinal);
        Assert.Contains("RelayId", error.Message, StringComparison.Ordinal);
        Assert.Equal("dialect", Assert.Throws<ArgumentNullException>(() => new InvalidationOutbox("outbox", null!)).ParamName);
        Assert.Contains("Dialect", Assert.Throws<ArgumentException>(() => new OutboxRelay(new OutboxRelayOptions { OpenConnection = harness.OpenAsync, Dialect = null! }, harness.Stream(), null, null)).Message, StringComparison.Ordinal);
    }

    private static OutboxRelay Relay(EventHarness harness, string id, int batchSize, TimeProvider? clock = null, TimeSpan? retention = null) =>
        new(new OutboxRelayOptions { OpenConnection = harness.OpenAsync, RelayId = id, BatchSize = batchSize, DispatchedRetention = retention ?? TimeSpan.FromHours(1) }, harness.Stream(), null, clock);

    private static async Task AppendAsync(EventHarness harness, IEnumerable<int> ids)
    {
        await using SqliteConnection connection = harness.Open();
        await using DbTransaction transaction = await connection.BeginTransactionAsync();
        foreach (int id in ids)
        {
            await harness.Outbox.AppendAsync(transaction, ProductUpdated(id));
        }

        await transaction.CommitAsync();
    }

    private static async Task<long> RowsAsync(EventHarness harness)
    {
        await using SqliteConnection connection = harness.Open();
        await using DbCommand count = connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM cache_invalidation_outbox";
        return (long)(await count.ExecuteScalarAsync())!;
    }

    private static async Task<string> PlanAsync(SqliteConnection connection, string sql)
    {
        await using DbCommand explain = connection.CreateCommand();
        explain.CommandText = "EXPLAIN QUERY PLAN " + sql;
        foreach (string name in new[] { "@relay", "@until", "@now", "@limit", "@cutoff" })
        {
            explain.Parameters.Add(new SqliteParameter(name, 1));
        }

        var plan = new List<string>();
        await using DbDataReader reader = await explain.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            plan.Add(reader.GetString(3));
        }

        return string.Join("\n", plan);
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using DbCommand command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
