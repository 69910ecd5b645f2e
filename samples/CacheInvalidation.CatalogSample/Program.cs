// The catalog sample: a SQLite source of truth (products, sellers, stock) written through EF Core, derived product views
// cached with dependency sets, and every change's event appended in the same SaveChanges (the transactional outbox) →
// relay → Redis Stream → consumer. A freshness
// canary compares the cached views with SQLite after start-up and again after a change that skipped the outbox.
// Needs a Redis: REDIS_URL (host:port), else localhost:6379. Run it with ./build.sh catalog.
using System.Diagnostics;
using System.Globalization;
using CacheInvalidation;
using CacheInvalidation.CatalogSample;
using CacheInvalidation.Events;
using CacheInvalidation.Keys;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

string redisUrl = Environment.GetEnvironmentVariable("REDIS_URL") is { Length: > 0 } url ? url : "localhost:6379";
string databasePath = Path.Combine(Path.GetTempPath(), $"catalog-{Guid.NewGuid():N}.db");
var database = new CatalogDatabase(databasePath);
await database.CreateAsync();

HostApplicationBuilder builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddSmartCache(o => { o.Configuration = redisUrl; o.KeyPrefix = "catalog-" + Guid.NewGuid().ToString("N")[..6]; })
    .AddOutboxRelay(o => { o.OpenConnection = _ => Task.FromResult<System.Data.Common.DbConnection>(database.Open()); o.PollInterval = TimeSpan.FromMilliseconds(20); })
    .AddInvalidationConsumer(o =>
    {
        o.PollInterval = TimeSpan.FromMilliseconds(20);
        // One event type, several projections: the product's own sources plus its search results.
        o.Map("product.repriced", e => [InvalidationAction.Namespace("search")]);
    })
    .AddFreshnessVerification(o =>
    {
        o.Source<ProductView>("product-view", async (key, ct) => await database.LoadViewAsync(int.Parse(key.Id, CultureInfo.InvariantCulture), ct));
        o.SamplesPerSecond = 0; // on demand only here; in production leave the continuous sampler on (1/s by default)
        o.RecheckDelay = TimeSpan.FromMilliseconds(300); // above the outbox → consumer lag: an event in flight is not a divergence
        o.InvalidateDivergent = true;
    });
using IHost host = builder.Build();
await host.StartAsync();
ISmartCache cache = host.Services.GetRequiredService<ISmartCache>();

int loads = 0;
async Task<ProductView> ViewAsync(int id)
{
    int seller = await database.SellerOfAsync(id);
    return await cache.GetOrSetAsync(CacheKey.Entity("product-view", id), async ct =>
    {
        Interlocked.Increment(ref loads);
        return await database.LoadViewAsync(id, ct);
    }, new CacheEntryOptions { DependsOn = [$"product:{id}", $"seller:{seller}", $"stock:{id}"] });
}

async Task ShowAsync(string step, int id)
{
    int before = loads;
    var watch = Stopwatch.StartNew();
    ProductView view = await ViewAsync(id);
    Console.WriteLine($"{step,-44} {(loads > before ? "MISS" : "HIT "),-5} {watch.Elapsed.TotalMilliseconds,7:F2} ms  {view.Name} · {view.Price:F2} · {view.Seller} · {view.InStock} in stock (v{view.Version})");
}

async Task WaitUntilInvalidatedAsync(string change, params int[] ids)
{
    var watch = Stopwatch.StartNew();
    foreach (int id in ids)
    {
        while ((await cache.GetAsync<ProductView>(CacheKey.Entity("product-view", id))).Found)
        {
            await Task.Delay(2);
        }
    }

    Console.WriteLine($"   {change}: committed with its outbox event; views [{string.Join(", ", ids)}] invalidated {watch.Elapsed.TotalMilliseconds:F0} ms later (relay → stream → consumer)");
}

async Task CanaryAsync(string when)
{
    FreshnessReport report = await host.Services.GetRequiredService<ICacheFreshnessVerifier>().VerifyAsync(sampleSize: 1_000);
    Console.WriteLine($"   canary {when}: {report.Verified} cached views compared with SQLite, {report.Divergent} divergent " +
        $"[{string.Join(", ", report.DivergentKeys)}], {report.Invalidated} invalidated; divergence {report.Estimate:P1} " +
        $"(bound {report.LowerBound:P1}–{report.UpperBound:P1} at {report.Confidence:P0}) → {(report.ThresholdExceeded ? "ALERT" : "ok")}");
}

Console.WriteLine($"Catalog sample: SQLite at {databasePath}, Redis at {redisUrl}");
Console.WriteLine();
await ShowAsync("product 1, first read", 1);
await ShowAsync("product 1, again", 1);
await ShowAsync("product 2, first read", 2);
await ShowAsync("product 3, first read", 3);
await CanaryAsync("after start-up");

await database.ChangeAsync(async db =>
{
    Product lamp = await db.Products.SingleAsync(p => p.Id == 1);
    lamp.Price = 34.90m;
    lamp.Version++;
    return new InvalidationEvent { Type = "product.repriced", Entity = "product:1", EntityVersion = lamp.Version, Sources = ["product:1"] };
});
await WaitUntilInvalidatedAsync("price of product 1 → 34.90", 1);
await ShowAsync("product 1 after the price change", 1);
await ShowAsync("product 2 (untouched)", 2);

await database.ChangeAsync(async db =>
{
    (await db.Sellers.SingleAsync(s => s.Id == 7)).Name = "Lumen Lighting";
    return new InvalidationEvent { Type = "seller.renamed", Entity = "seller:7", Sources = ["seller:7"] };
});
await WaitUntilInvalidatedAsync("seller 7 renamed (products 1 and 2 depend on it)", 1, 2);
await ShowAsync("product 1 after the rename", 1);
await ShowAsync("product 2 after the rename", 2);
await ShowAsync("product 3 (other seller, still cached)", 3);

await database.ChangeAsync(async db =>
{
    (await db.Products.SingleAsync(p => p.Id == 3)).Quantity = 0;
    return new InvalidationEvent { Type = "stock.changed", Entity = "stock:3", Sources = ["stock:3"] };
});
await WaitUntilInvalidatedAsync("product 3 sold out", 3);
await ShowAsync("product 3 after the stock change", 3);

await database.ChangeWithoutEventAsync("UPDATE products SET name = 'Desk lamp (brass)' WHERE id = 1");
Console.WriteLine("   product 1 renamed by a hand-run UPDATE: no outbox event, the cache is not told");
await CanaryAsync("after the hand-run change");
await ShowAsync("product 1 after the canary repaired it", 1);

Console.WriteLine();
Console.WriteLine($"{loads} loads from SQLite for 13 reads; every change reached the cache through the EF Core outbox, and the canary caught the one that did not.");
await host.StopAsync();
Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
File.Delete(databasePath);
