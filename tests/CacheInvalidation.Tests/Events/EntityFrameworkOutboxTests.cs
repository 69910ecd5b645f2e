using CacheInvalidation.Events;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace CacheInvalidation.Tests.Events;

/// <summary>The outbox through EF Core on SQLite: the event commits or rolls back with the application's SaveChanges.</summary>
[Collection(RedisCollection.Name)]
public sealed class EntityFrameworkOutboxTests(RedisFixture redis)
{
    private static InvalidationEvent Renamed(int id) => new() { Type = "product.renamed", Entity = $"product:{id}", EntityVersion = 2, Sources = [$"product:{id}"] };

    [Fact]
    public async Task SaveChanges_commits_the_change_and_its_event_and_the_relay_and_consumer_invalidate()
    {
        using var harness = new EventHarness(redis);
        using var metrics = new MetricRecorder();
        await CacheViewAsync(harness, 1);
        await using (CatalogContext db = Context(harness))
        {
            db.Products.Add(new Product { Id = 1, Name = "Desk lamp", Price = 1, Version = 2 });
            db.AddInvalidationEvent(Renamed(1));
            await db.SaveChangesAsync();
        }

        Assert.Equal(1, await harness.UndispatchedAsync());
        Assert.Equal(1, await harness.Relay.RelayOnceAsync());
        await harness.Consumer.ProcessOnceAsync();

        Assert.False((await harness.Cache.GetAsync<string>(CacheKey.Entity("product-view", 1))).Found);
        Assert.Equal(1, metrics["cacheinvalidation.events/applied"]);
    }

    [Fact]
    public async Task The_schema_is_created_on_the_context_s_closed_connection_and_left_closed()
    {
        using var harness = new EventHarness(redis);
        await using CatalogContext db = new(new DbContextOptionsBuilder<CatalogContext>().UseSqlite(harness.ConnectionString).Options);
        var outbox = new InvalidationOutbox("ef_outbox");
        System.Data.Common.DbConnection connection = db.Database.GetDbConnection();

        await outbox.EnsureSchemaAsync(connection);

        Assert.Equal(System.Data.ConnectionState.Closed, connection.State);
        await using SqliteConnection check = harness.Open();
        await using var count = check.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('ef_outbox', 'ef_outbox_pending', 'ef_outbox_dispatched')";
        Assert.Equal(3L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_rolled_back_transaction_and_a_failing_SaveChanges_publish_nothing()
    {
        using var harness = new EventHarness(redis);
        await CacheViewAsync(harness, 1);
        await using (CatalogContext db = Context(harness))
        {
            db.Products.Add(new Product { Id = 1, Name = "Desk lamp", Price = 1, Version = 1 });
            await db.SaveChangesAsync();
        }

        await using (CatalogContext db = Context(harness))
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            Product lamp = await db.Products.SingleAsync(p => p.Id == 1);
            lamp.Name = "Brass lamp";
            db.AddInvalidationEvent(Renamed(1));
            await db.SaveChangesAsync();
            await transaction.RollbackAsync();
        }

        await using (CatalogContext db = Context(harness))
        {
            db.Products.Add(new Product { Id = 1, Name = "duplicate key", Price = 1, Version = 1 });
            db.AddInvalidationEvent(Renamed(1));
            await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        }

        Assert.Equal(0, await harness.UndispatchedAsync());
        Assert.Equal(0, await harness.Relay.RelayOnceAsync());
        Assert.True((await harness.Cache.GetAsync<string>(CacheKey.Entity("product-view", 1))).Found);
    }

    [Fact]
    public async Task A_model_without_the_outbox_and_a_bad_event_are_refused_with_a_clear_message()
    {
        using var harness = new EventHarness(redis);
        await using var plain = new PlainContext(new DbContextOptionsBuilder<PlainContext>().UseSqlite(harness.ConnectionString).Options);
        var missing = Assert.Throws<InvalidOperationException>(() => plain.AddInvalidationEvent(Renamed(1)));
        Assert.Contains("AddInvalidationOutbox", missing.Message, StringComparison.Ordinal);

        await using CatalogContext db = Context(harness);
        var bad = Assert.Throws<ArgumentException>(() => db.AddInvalidationEvent(new InvalidationEvent { Type = "t", Sources = ["bad source*"] }));
        Assert.Equal("invalidationEvent.Sources", bad.ParamName);
        Assert.Throws<ArgumentNullException>(() => db.AddInvalidationEvent(null!));
        Assert.Throws<ArgumentException>(() => new ModelBuilder().AddInvalidationOutbox("outbox; DROP TABLE x"));
    }

    private static Task CacheViewAsync(EventHarness harness, int id) =>
        harness.Cache.SetAsync(CacheKey.Entity("product-view", id), $"view {id}", new CacheEntryOptions { DependsOn = [$"product:{id}"] }).AsTask();

    private static CatalogContext Context(EventHarness harness) =>
        new(new DbContextOptionsBuilder<CatalogContext>().UseSqlite(harness.ConnectionString).Options);

    internal sealed class PlainContext(DbContextOptions<PlainContext> options) : DbContext(options);
}
