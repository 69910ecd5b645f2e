using CacheInvalidation.Events;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace CacheInvalidation.CatalogSample;

/// <summary>
/// The source of truth: products, sellers and stock in a SQLite file, written through EF Core; each change appends its
/// invalidation event in the same <c>SaveChanges</c> (the outbox table is mapped by <c>AddInvalidationOutbox</c>).
/// </summary>
internal sealed class CatalogDatabase(string path)
{
    public InvalidationOutbox Outbox { get; } = new();

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection($"Data Source={path}");
        connection.Open();
        return connection;
    }

    public CatalogContext Context() => new(new DbContextOptionsBuilder<CatalogContext>().UseSqlite($"Data Source={path}").Options);

    public async Task CreateAsync()
    {
        await using CatalogContext db = Context();
        await db.Database.EnsureCreatedAsync(); // the catalog's tables (the outbox is excluded from the model's schema)
        await Outbox.EnsureSchemaAsync(db.Database.GetDbConnection()); // the outbox with its indexes
        db.Sellers.AddRange(new Seller { Id = 7, Name = "Lumen & Co" }, new Seller { Id = 8, Name = "Oak Works" });
        db.Products.AddRange(
            new Product { Id = 1, Name = "Desk lamp", Price = 39.90m, SellerId = 7, Version = 1, Quantity = 12 },
            new Product { Id = 2, Name = "Floor lamp", Price = 89.00m, SellerId = 7, Version = 1, Quantity = 3 },
            new Product { Id = 3, Name = "Oak shelf", Price = 129.00m, SellerId = 8, Version = 1, Quantity = 8 });
        await db.SaveChangesAsync();
    }

    public async Task<ProductView> LoadViewAsync(int id, CancellationToken cancellationToken)
    {
        await Task.Delay(20, cancellationToken); // a join over three tables on a busy database
        await using CatalogContext db = Context();
        return await db.Products.Where(p => p.Id == id)
            .Select(p => new ProductView(p.Id, p.Name, p.Price, p.SellerId, p.Seller!.Name, p.Quantity, p.Version))
            .SingleAsync(cancellationToken);
    }

    public async Task<int> SellerOfAsync(int productId)
    {
        await using CatalogContext db = Context();
        return await db.Products.Where(p => p.Id == productId).Select(p => p.SellerId).SingleAsync();
    }

    /// <summary>Changes the catalog and appends the event describing the change, in one <c>SaveChanges</c>.</summary>
    public async Task ChangeAsync(Func<CatalogContext, Task<InvalidationEvent>> change)
    {
        await using CatalogContext db = Context();
        db.AddInvalidationEvent(await change(db));
        await db.SaveChangesAsync();
    }

    /// <summary>Changes the source with no event: a hand-run fix or a service that forgot the outbox — what canaries catch.</summary>
    public async Task ChangeWithoutEventAsync(string sql)
    {
        await using CatalogContext db = Context();
        await db.Database.ExecuteSqlRawAsync(sql);
    }
}

internal sealed class Seller
{
    public int Id { get; set; }

    public required string Name { get; set; }
}

internal sealed class Product
{
    public int Id { get; set; }

    public required string Name { get; set; }

    public decimal Price { get; set; }

    public int SellerId { get; set; }

    public Seller? Seller { get; set; }

    public int Quantity { get; set; }

    public long Version { get; set; }
}

internal sealed class CatalogContext(DbContextOptions<CatalogContext> options) : DbContext(options)
{
    public DbSet<Product> Products => Set<Product>();

    public DbSet<Seller> Sellers => Set<Seller>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Product>().ToTable("products").Property(p => p.Id).ValueGeneratedNever();
        modelBuilder.Entity<Seller>().ToTable("sellers").Property(s => s.Id).ValueGeneratedNever();
        modelBuilder.AddInvalidationOutbox();
    }
}

/// <summary>What the catalog page shows for one product: derived from the product, its seller and its stock.</summary>
internal sealed record ProductView(int Id, string Name, decimal Price, int SellerId, string Seller, int InStock, long Version);
