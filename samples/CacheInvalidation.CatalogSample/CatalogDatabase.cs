using System.Data.Common;
using CacheInvalidation.Events;
using Microsoft.Data.Sqlite;

namespace CacheInvalidation.CatalogSample;

/// <summary>The source of truth: products, sellers and stock in a SQLite file, and the outbox beside them.</summary>
internal sealed class CatalogDatabase(string path)
{
    public InvalidationOutbox Outbox { get; } = new();

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection($"Data Source={path}");
        connection.Open();
        return connection;
    }

    public async Task CreateAsync()
    {
        await using SqliteConnection connection = Open();
        await Execute(connection, null, """
            CREATE TABLE sellers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
            CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL, seller_id INTEGER NOT NULL, version INTEGER NOT NULL);
            CREATE TABLE stock (product_id INTEGER PRIMARY KEY, quantity INTEGER NOT NULL);
            INSERT INTO sellers VALUES (7, 'Lumen & Co'), (8, 'Oak Works');
            INSERT INTO products VALUES (1, 'Desk lamp', 39.90, 7, 1), (2, 'Floor lamp', 89.00, 7, 1), (3, 'Oak shelf', 129.00, 8, 1);
            INSERT INTO stock VALUES (1, 12), (2, 3), (3, 8);
            """);
        await Outbox.EnsureSchemaAsync(connection);
    }

    public async Task<ProductView> LoadViewAsync(int id, CancellationToken cancellationToken)
    {
        await Task.Delay(20, cancellationToken); // a join over three tables on a busy database
        await using SqliteConnection connection = Open();
        await using DbCommand query = connection.CreateCommand();
        query.CommandText = """
            SELECT p.id, p.name, p.price, s.id, s.name, k.quantity, p.version
            FROM products p JOIN sellers s ON s.id = p.seller_id JOIN stock k ON k.product_id = p.id WHERE p.id = $id
            """;
        query.Parameters.Add(new SqliteParameter("$id", id));
        await using DbDataReader row = await query.ExecuteReaderAsync(cancellationToken);
        await row.ReadAsync(cancellationToken);
        return new ProductView(row.GetInt32(0), row.GetString(1), row.GetDecimal(2), row.GetInt32(3), row.GetString(4), row.GetInt32(5), row.GetInt64(6));
    }

    public async Task<int> SellerOfAsync(int productId)
    {
        await using SqliteConnection connection = Open();
        await using DbCommand query = connection.CreateCommand();
        query.CommandText = "SELECT seller_id FROM products WHERE id = $id";
        query.Parameters.Add(new SqliteParameter("$id", productId));
        return Convert.ToInt32(await query.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Changes the source and appends the invalidation event in one transaction.</summary>
    public async Task ChangeAsync(string sql, Func<long, InvalidationEvent> eventFor, params (string Name, object Value)[] parameters)
    {
        await using SqliteConnection connection = Open();
        await using DbTransaction transaction = await connection.BeginTransactionAsync();
        long version = await Execute(connection, transaction, sql, parameters);
        await Outbox.AppendAsync(transaction, eventFor(version));
        await transaction.CommitAsync();
    }

    /// <summary>Changes the source with no event: a hand-run fix or a service that forgot the outbox — what canaries catch.</summary>
    public async Task ChangeWithoutEventAsync(string sql)
    {
        await using SqliteConnection connection = Open();
        await Execute(connection, null, sql);
    }

    private static async Task<long> Execute(SqliteConnection connection, DbTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        await using DbCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach ((string name, object value) in parameters)
        {
            command.Parameters.Add(new SqliteParameter(name, value));
        }

        object? result = await command.ExecuteScalarAsync();
        return result is long version ? version : 0;
    }
}

/// <summary>What the catalog page shows for one product: derived from the product, its seller and its stock.</summary>
internal sealed record ProductView(int Id, string Name, decimal Price, int SellerId, string Seller, int InStock, long Version);
