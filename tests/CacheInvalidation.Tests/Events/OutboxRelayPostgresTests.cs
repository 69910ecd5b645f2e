using CacheInvalidation.Events;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Events;

/// <summary>The event path on a real PostgreSQL 15: commit and rollback, many relays, a relay dying, LISTEN/NOTIFY, retention, EF Core.</summary>
[Collection(RedisPostgresCollection.Name)]
public sealed class OutboxRelayPostgresTests(RedisFixture redis, PostgresFixture postgres)
{
    private static InvalidationEvent ProductUpdated(int id) => new() { Type = "product.updated", Entity = $"product:{id}", EntityVersion = 2, Sources = [$"product:{id}"] };

    private static Task CacheViewAsync(SmartCache cache, int id) =>
        cache.SetAsync(CacheKey.Entity("product-view", id), $"view {id}", new CacheEntryOptions { DependsOn = [$"product:{id}"] }).AsTask();

    private static async Task<bool> CachedAsync(SmartCache cache, int id) => (await cache.GetAsync<string>(CacheKey.Entity("product-view", id))).Found;

    [PostgresFact]
    public async Task A_commit_invalidates_and_a_rollback_publishes_nothing()
    {
        await using PostgresOutboxHarness harness = await PostgresOutboxHarness.CreateAsync(redis, postgres);
        OutboxRelay relay = harness.Relay("r");
        await CacheViewAsync(harness.Cache, 1);
        await CacheViewAsync(harness.Cache, 2);

        await harness.UpdateProductAsync(1, "v2", ProductUpdated(1));
        await harness.UpdateProductAsync(2, "v2", ProductUpdated(2), commit: false);
        Assert.Equal(1, await relay.RelayOnceAsync());
        await harness.Consumer.ProcessOnceAsync();

        Assert.False(await CachedAsync(harness.Cache, 1));
        Assert.True(await CachedAsync(harness.Cache, 2));
        Assert.Equal((0L, 1L), (await harness.UndispatchedAsync(), await harness.RowsAsync()));
    }

    [PostgresFact]
    public async Task Three_relays_at_once_publish_every_row_exactly_once()
    {
        await using PostgresOutboxHarness harness = await PostgresOutboxHarness.CreateAsync(redis, postgres);
        const int Events = 600;
        await harness.AppendAsync(Enumerable.Range(0, Events), ProductUpdated);
        OutboxRelay[] relays = [.. Enumerable.Range(0, 3).Select(i => harness.Relay("relay-" + i, batchSize: 25))];

        int[] published = await Relays.DrainAsync(relays);

        StreamEntry[] entries = await harness.Redis.StreamRangeAsync(harness.StreamKey);
        Assert.Equal(Events, published.Sum());
        Assert.Equal(Events, entries.Length);
        Assert.Equal(Events, entries.Select(e => (string?)e["id"]).Distinct().Count());
        Assert.Equal(0, await harness.UndispatchedAsync());
        Assert.True(published.Count(p => p > 0) >= 2, $"the relays shared the work: {string.Join(", ", published)}");
    }

    [PostgresFact]
    public async Task A_relay_dying_mid_batch_releases_its_rows_at_once_and_nothing_is_lost()
    {
        await using PostgresOutboxHarness harness = await PostgresOutboxHarness.CreateAsync(redis, postgres);
        using var metrics = new MetricRecorder();
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => CacheViewAsync(harness.Cache, i)));
        await harness.AppendAsync(Enumerable.Range(0, 10), ProductUpdated);
        OutboxRelay dying = harness.Relay("dying", batchSize: 4);
        OutboxRelay survivor = harness.Relay("survivor");
        dying.AfterPublish = _ => throw new IOException("the relay's process was killed after publishing, before its commit");

        await Assert.ThrowsAsync<IOException>(() => dying.RelayOnceAsync());
        Assert.Equal(10, await survivor.RelayOnceAsync()); // the row locks ended with the dead relay's transaction
        for (int pass = 0; pass < 5; pass++)
        {
            await harness.Consumer.ProcessOnceAsync();
        }

        Assert.Equal(0, await harness.UndispatchedAsync());
        Assert.Equal(10, metrics["cacheinvalidation.events/applied"]);
        Assert.Equal(4, metrics["cacheinvalidation.events/duplicate"]);
        foreach (int i in Enumerable.Range(0, 10))
        {
            Assert.False(await CachedAsync(harness.Cache, i));
        }
    }

    [PostgresFact]
    public async Task The_commit_notification_wakes_a_relay_whose_poll_would_not_come_for_minutes()
    {
        await using PostgresOutboxHarness harness = await PostgresOutboxHarness.CreateAsync(redis, postgres);
        OutboxRelay relay = harness.Relay("listening", pollInterval: TimeSpan.FromMinutes(10));
        using var stop = new CancellationTokenSource();
        Task running = relay.RunAsync(stop.Token);
        await Eventually.HoldsAsync(async () => await ListenersAsync(harness) > 0, "the relay listens");

        await harness.UpdateProductAsync(1, "v2", ProductUpdated(1));

        await Eventually.HoldsAsync(async () => await harness.UndispatchedAsync() == 0 && await harness.Redis.StreamLengthAsync(harness.StreamKey) == 1, "the notified relay publishes the row");
        await stop.CancelAsync();
        await running;
    }

    [PostgresFact]
    public async Task The_polling_dialect_drops_the_notification_and_its_relay_still_publishes_by_polling()
    {
        await using PostgresOutboxHarness harness = await PostgresOutboxHarness.CreateAsync(redis, postgres);
        await using NpgsqlConnection connection = await harness.DataSource.OpenConnectionAsync();
        Assert.Equal(1, await TriggersAsync(connection));

        await new InvalidationOutbox("cache_invalidation_outbox", OutboxDialect.PostgreSqlPolling).EnsureSchemaAsync(connection);
        Assert.Equal(0, await TriggersAsync(connection));

        OutboxRelayOptions options = new OutboxRelayOptions { PollInterval = TimeSpan.FromMilliseconds(10) }.UsePostgreSql(harness.DataSource, notifyOnCommit: false);
        Assert.Same(OutboxDialect.PostgreSqlPolling, options.Dialect);
        Assert.Null(options.WakeSignal);
        var relay = new OutboxRelay(options, harness.Stream(), null, null);
        using var stop = new CancellationTokenSource();
        Task running = relay.RunAsync(stop.Token);
        await harness.UpdateProductAsync(1, "v2", ProductUpdated(1));
        await Eventually.HoldsAsync(async () => await harness.UndispatchedAsync() == 0 && await harness.Redis.StreamLengthAsync(harness.StreamKey) == 1, "the polling relay publishes the row");
        await stop.CancelAsync();
        await running;
    }

    [PostgresFact]
    public async Task Dispatched_rows_are_deleted_after_the_retention_and_pending_ones_never()
    {
        await using PostgresOutboxHarness harness = await PostgresOutboxHarness.CreateAsync(redis, postgres);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        OutboxRelay relay = harness.Relay("r", clock: clock, retention: TimeSpan.FromMinutes(10));
        await harness.AppendAsync(Enumerable.Range(0, 30), ProductUpdated);
        Assert.Equal(30, await relay.RelayOnceAsync());
        clock.Advance(TimeSpan.FromMinutes(5));
        await harness.AppendAsync(Enumerable.Range(30, 20), ProductUpdated);
        Assert.Equal(20, await relay.RelayOnceAsync());
        clock.Advance(TimeSpan.FromMinutes(6));
        await harness.AppendAsync(Enumerable.Range(50, 5), ProductUpdated);
        relay.AfterPublish = _ => throw new IOException("Redis failed"); // these five stay pending
        await Assert.ThrowsAsync<IOException>(() => relay.RelayOnceAsync());
        relay.AfterPublish = null;
        await harness.AppendAsync(Enumerable.Range(55, 1), ProductUpdated);
        clock.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(6, await relay.RelayOnceAsync()); // and the retention pass: the first 30 are 12 min old

        Assert.Equal(26, await harness.RowsAsync());
        Assert.Equal(0, await harness.UndispatchedAsync());
    }

    [PostgresFact]
    public async Task Polls_read_the_pending_index_and_the_schema_is_idempotent_and_upgrades_a_0_1_table()
    {
        await using PostgresOutboxHarness harness = await PostgresOutboxHarness.CreateAsync(redis, postgres);
        await using NpgsqlConnection connection = await harness.DataSource.OpenConnectionAsync();
        await PostgresOutboxHarness.ExecuteAsync(connection, "SET enable_seqscan = off"); // only an index that fits the query can serve it now
        await using (NpgsqlCommand explain = connection.CreateCommand())
        {
            explain.CommandText = "EXPLAIN " + OutboxDialect.PostgreSql.Claim("cache_invalidation_outbox");
            explain.Parameters.AddWithValue("limit", 100);
            var plan = new List<string>();
            await using NpgsqlDataReader reader = await explain.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(0));
            }

            Assert.Contains(plan, line => line.Contains("cache_invalidation_outbox_pending", StringComparison.Ordinal));
        }

        await PostgresOutboxHarness.ExecuteAsync(connection, "DROP TABLE cache_invalidation_outbox");
        await PostgresOutboxHarness.ExecuteAsync(connection, "CREATE TABLE cache_invalidation_outbox (id VARCHAR(64) PRIMARY KEY, created_ticks BIGINT NOT NULL, payload TEXT NOT NULL, dispatched_at VARCHAR(40) NULL)");
        await harness.AppendAsync([1], ProductUpdated);
        await Task.WhenAll(Enumerable.Range(0, 3).Select(async _ =>
        {
            await using NpgsqlConnection other = await harness.DataSource.OpenConnectionAsync();
            await harness.Outbox.EnsureSchemaAsync(other); // nodes starting together
        }));

        Assert.Equal(1, await harness.Relay("r").RelayOnceAsync());
    }

    [PostgresFact]
    public async Task EF_Core_SaveChanges_on_PostgreSQL_commits_the_event_with_the_change_and_a_rollback_publishes_nothing()
    {
        await using PostgresOutboxHarness harness = await PostgresOutboxHarness.CreateAsync(redis, postgres);
        OutboxRelay relay = harness.Relay("r");
        await CacheViewAsync(harness.Cache, 1);
        await CacheViewAsync(harness.Cache, 2);
        await using (CatalogContext db = Context(harness))
        {
            db.Products.Add(new Product { Id = 1, Name = "Desk lamp", Price = 1, Version = 1 });
            db.AddInvalidationEvent(ProductUpdated(1));
            await db.SaveChangesAsync();
        }

        await using (CatalogContext db = Context(harness))
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Products.Add(new Product { Id = 2, Name = "Floor lamp", Price = 1, Version = 1 });
            db.AddInvalidationEvent(ProductUpdated(2));
            await db.SaveChangesAsync();
            await transaction.RollbackAsync();
        }

        Assert.Equal(1, await relay.RelayOnceAsync());
        await harness.Consumer.ProcessOnceAsync();
        Assert.False(await CachedAsync(harness.Cache, 1));
        Assert.True(await CachedAsync(harness.Cache, 2));
    }

    private static CatalogContext Context(PostgresOutboxHarness harness) =>
        new(new DbContextOptionsBuilder<CatalogContext>().UseNpgsql(harness.DataSource).Options);

    private static async Task<long> TriggersAsync(NpgsqlConnection connection)
    {
        await using NpgsqlCommand count = connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM pg_trigger WHERE tgname = 'cache_invalidation_outbox_inserted'";
        return (long)(await count.ExecuteScalarAsync())!;
    }

    private static async Task<long> ListenersAsync(PostgresOutboxHarness harness)
    {
        await using NpgsqlConnection connection = await harness.DataSource.OpenConnectionAsync();
        await using NpgsqlCommand count = connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'";
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
