using System.Data.Common;
using CacheInvalidation.Client;
using CacheInvalidation.Events;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using Npgsql;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Events;

/// <summary>A fresh PostgreSQL database with a products table and its outbox, a cache, relays and a consumer on one fresh stream.</summary>
internal sealed class PostgresOutboxHarness : IAsyncDisposable
{
    private readonly RedisFixture _redis;
    private readonly List<IAsyncDisposable> _signals = [];

    private PostgresOutboxHarness(RedisFixture redis, NpgsqlDataSource dataSource)
    {
        _redis = redis;
        DataSource = dataSource;
        Cache = TestCache.Create(redis);
        StreamKey = $"{{{Cache.Layout.Prefix}}}:events";
        Consumer = new InvalidationConsumer(Cache, Stream(), new FixedOptionsMonitor<InvalidationConsumerOptions>(new InvalidationConsumerOptions { ConsumerName = "node-a", PollInterval = TimeSpan.FromMilliseconds(10) }), null, null);
    }

    public NpgsqlDataSource DataSource { get; }

    public SmartCache Cache { get; }

    public string StreamKey { get; }

    public InvalidationConsumer Consumer { get; }

    public InvalidationOutbox Outbox { get; } = new("cache_invalidation_outbox", OutboxDialect.PostgreSql);

    public IDatabase Redis => _redis.Admin.GetDatabase();

    public static async Task<PostgresOutboxHarness> CreateAsync(RedisFixture redis, PostgresFixture postgres)
    {
        var harness = new PostgresOutboxHarness(redis, NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync()));
        await using NpgsqlConnection connection = await harness.DataSource.OpenConnectionAsync();
        await ExecuteAsync(connection, "CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price DOUBLE PRECISION NOT NULL, version BIGINT NOT NULL)");
        await harness.Outbox.EnsureSchemaAsync(connection);
        return harness;
    }

    public RedisEventStream Stream() => new(RedisConnection.FromExisting(_redis.Admin), StreamKey);

    /// <summary>A relay as <c>UsePostgreSql</c> sets it up (dialect, connections, the LISTEN wake signal).</summary>
    public OutboxRelay Relay(string id, int batchSize = 100, TimeProvider? clock = null, TimeSpan? retention = null, TimeSpan? pollInterval = null)
    {
        OutboxRelayOptions options = new OutboxRelayOptions { RelayId = id, BatchSize = batchSize, DispatchedRetention = retention ?? TimeSpan.FromHours(1), PollInterval = pollInterval ?? TimeSpan.FromMilliseconds(200) }.UsePostgreSql(DataSource);
        _signals.Add((IAsyncDisposable)options.WakeSignal!);
        return new OutboxRelay(options, Stream(), null, clock);
    }

    /// <summary>Updates a product and appends its event in one transaction, committed or rolled back.</summary>
    public async Task UpdateProductAsync(int id, string name, InvalidationEvent invalidation, bool commit = true)
    {
        await using NpgsqlConnection connection = await DataSource.OpenConnectionAsync();
        await using DbTransaction transaction = await connection.BeginTransactionAsync();
        await using (NpgsqlCommand update = connection.CreateCommand())
        {
            update.Transaction = (NpgsqlTransaction)transaction;
            update.CommandText = "INSERT INTO products (id, name, price, version) VALUES (@id, @name, 1, 1) ON CONFLICT (id) DO UPDATE SET name = @name, version = products.version + 1";
            update.Parameters.AddWithValue("id", id);
            update.Parameters.AddWithValue("name", name);
            await update.ExecuteNonQueryAsync();
        }

        await Outbox.AppendAsync(transaction, invalidation);
        if (commit)
        {
            await transaction.CommitAsync();
        }
        else
        {
            await transaction.RollbackAsync();
        }
    }

    /// <summary>Appends events for <paramref name="ids"/> in one transaction.</summary>
    public async Task AppendAsync(IEnumerable<int> ids, Func<int, InvalidationEvent> eventFor)
    {
        await using NpgsqlConnection connection = await DataSource.OpenConnectionAsync();
        await using DbTransaction transaction = await connection.BeginTransactionAsync();
        foreach (int id in ids)
        {
            await Outbox.AppendAsync(transaction, eventFor(id));
        }

        await transaction.CommitAsync();
    }

    public Task<long> UndispatchedAsync() => CountAsync("SELECT COUNT(*) FROM cache_invalidation_outbox WHERE dispatched_at IS NULL");

    public Task<long> RowsAsync() => CountAsync("SELECT COUNT(*) FROM cache_invalidation_outbox");

    public async ValueTask DisposeAsync()
    {
        foreach (IAsyncDisposable signal in _signals)
        {
            await signal.DisposeAsync();
        }

        Cache.Dispose();
        await DataSource.DisposeAsync();
    }

    public static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using NpgsqlCommand command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private async Task<long> CountAsync(string sql)
    {
        await using NpgsqlConnection connection = await DataSource.OpenConnectionAsync();
        await using NpgsqlCommand count = connection.CreateCommand();
        count.CommandText = sql;
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
