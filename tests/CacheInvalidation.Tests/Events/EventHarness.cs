using System.Data.Common;
using CacheInvalidation.Client;
using CacheInvalidation.Events;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using Microsoft.Data.Sqlite;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Events;

/// <summary>A real SQLite source of truth with its outbox, a cache, a relay and consumers on one fresh stream.</summary>
internal sealed class EventHarness : IDisposable
{
    private readonly string _databasePath = Path.Combine(Path.GetTempPath(), $"outbox-{Guid.NewGuid():N}.db");
    private readonly RedisFixture _redis;

    public EventHarness(RedisFixture redis, Action<InvalidationConsumerOptions>? configure = null)
    {
        _redis = redis;
        Cache = TestCache.Create(redis);
        StreamKey = $"{{{Cache.Layout.Prefix}}}:events";
        Options = new InvalidationConsumerOptions { ConsumerName = "node-a", PollInterval = TimeSpan.FromMilliseconds(10), RetryBackoff = TimeSpan.FromMilliseconds(1) };
        configure?.Invoke(Options);
        Relay = new OutboxRelay(new OutboxRelayOptions { OpenConnection = OpenAsync, PollInterval = TimeSpan.FromMilliseconds(10) }, Stream(), null, null);
        Consumer = CreateConsumer(Options);
        using SqliteConnection connection = Open();
        using DbCommand create = connection.CreateCommand();
        create.CommandText = "CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL, version INTEGER NOT NULL)";
        create.ExecuteNonQuery();
        Outbox.EnsureSchemaAsync(connection).GetAwaiter().GetResult();
    }

    public SmartCache Cache { get; }

    public string StreamKey { get; }

    public InvalidationConsumerOptions Options { get; }

    public InvalidationOutbox Outbox { get; } = new();

    public OutboxRelay Relay { get; }

    public InvalidationConsumer Consumer { get; }

    public IDatabase Redis => _redis.Admin.GetDatabase();

    public InvalidationConsumer CreateConsumer(InvalidationConsumerOptions options) =>
        new(Cache, Stream(), new FixedOptionsMonitor<InvalidationConsumerOptions>(options), null, null);

    public RedisEventStream Stream() => new(RedisConnection.FromExisting(_redis.Admin), StreamKey);

    public string ConnectionString => $"Data Source={_databasePath}";

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        return connection;
    }

    /// <summary>Updates a product and appends its event in one transaction, committed or rolled back.</summary>
    public async Task UpdateProductAsync(int id, string name, InvalidationEvent invalidation, bool commit = true)
    {
        await using SqliteConnection connection = Open();
        await using DbTransaction transaction = await connection.BeginTransactionAsync();
        await using (DbCommand update = connection.CreateCommand())
        {
            update.Transaction = transaction;
            update.CommandText = "INSERT INTO products (id, name, price, version) VALUES ($id, $name, 1, 1) ON CONFLICT(id) DO UPDATE SET name = $name, version = version + 1";
            update.Parameters.Add(new SqliteParameter("$id", id));
            update.Parameters.Add(new SqliteParameter("$name", name));
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

    public async Task<long> UndispatchedAsync()
    {
        await using SqliteConnection connection = Open();
        await using DbCommand count = connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM cache_invalidation_outbox WHERE dispatched_at IS NULL";
        return (long)(await count.ExecuteScalarAsync())!;
    }

    public void Dispose()
    {
        Cache.Dispose();
        SqliteConnection.ClearAllPools();
        File.Delete(_databasePath);
    }

    public Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => Task.FromResult<DbConnection>(Open());
}
