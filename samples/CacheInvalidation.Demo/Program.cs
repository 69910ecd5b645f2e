// A first tour of CacheInvalidation: miss → hit → TTL expiry → version bump → miss → hit, then the local tier on two
// nodes: a hit from memory, an invalidation on the other node arriving, and the read after it — with the latency of each
// step. Needs a Redis: REDIS_URL (host:port), else localhost:6379.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using CacheInvalidation;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using CacheInvalidation.Policy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

string redisUrl = Environment.GetEnvironmentVariable("REDIS_URL") is { Length: > 0 } url ? url : "localhost:6379";

var services = new ServiceCollection();
services.AddLogging(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
services.AddSmartCache(o =>
{
    o.Configuration = redisUrl;
    o.KeyPrefix = "demo";
    // No stale-while-revalidate window here, so the entry is gone the moment its TTL ends (the default for important
    // data serves an expired entry for up to 10 s more while one caller refreshes it).
    o.Policies[DataClass.Important] = CachePolicy.Ttl(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(1));
});
await using ServiceProvider provider = services.BuildServiceProvider();
ISmartCache cache = provider.GetRequiredService<ISmartCache>();

var catalog = new ProductCatalog();
long localHits = 0; // reads served from a node's memory, counted from the library's metrics
CacheKey key = CacheKey.Entity("product-view", 42);
var shortLived = new CacheEntryOptions { Ttl = TimeSpan.FromSeconds(2), Jitter = TimeSpan.Zero };

Console.WriteLine($"CacheInvalidation demo against Redis at {redisUrl}");
Console.WriteLine($"Key: {key} (the source of truth takes ~{ProductCatalog.LoadDelay.TotalMilliseconds:F0} ms per load)");
Console.WriteLine();

await cache.InvalidateAllAsync(); // start from a clean slate, whatever an earlier run left behind

await Step("1. first read: miss, loads from the source", () => cache.GetOrSetAsync(key, catalog.LoadAsync, shortLived));
await Step("2. second read: hit, one Redis round trip", () => cache.GetOrSetAsync(key, catalog.LoadAsync, shortLived));
await Step("3. another hit", () => cache.GetOrSetAsync(key, catalog.LoadAsync, shortLived));

Console.WriteLine("   … waiting for the 2 s TTL to run out …");
var waited = Stopwatch.StartNew();
while ((await cache.GetAsync<ProductView>(key)).Found)
{
    await Task.Delay(100);
}

Console.WriteLine($"   entry expired after {waited.Elapsed.TotalSeconds:F1} s");
await Step("4. read after expiry: miss, loads again", () => cache.GetOrSetAsync(key, catalog.LoadAsync, shortLived));

catalog.Rename("Desk lamp (new model)");
Console.WriteLine("   source updated: product renamed; bumping the global version (InvalidateAllAsync) …");
var bump = Stopwatch.StartNew();
await cache.InvalidateAllAsync();
Console.WriteLine($"   version bumped in {bump.Elapsed.TotalMilliseconds:F2} ms (O(1) per shard, no key scan)");

await Step("5. read after version bump: miss, sees the new name", () => cache.GetOrSetAsync(key, catalog.LoadAsync, shortLived));
await Step("6. read again: hit", () => cache.GetOrSetAsync(key, catalog.LoadAsync, shortLived));

Console.WriteLine();
Console.WriteLine("Local tier: two application nodes, each with its own connection; best-effort data (5 min budget) may be");
Console.WriteLine("served from a node's memory while the node can prove it missed no invalidation older than the budget.");
using var listener = new MeterListener();
listener.InstrumentPublished = (instrument, l) =>
{
    if (instrument.Meter.Name == CacheTelemetry.MeterName && instrument.Name == "cacheinvalidation.requests")
    {
        l.EnableMeasurementEvents(instrument);
    }
};
listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
{
    foreach (KeyValuePair<string, object?> tag in tags)
    {
        if (tag is { Key: "cacheinvalidation.result", Value: "local" })
        {
            Interlocked.Add(ref localHits, value);
        }
    }
});
listener.Start();

SmartCache Node() => new(Options.Create(new SmartCacheOptions { Configuration = redisUrl, KeyPrefix = "demo-local" }));
using SmartCache nodeA = Node();
using SmartCache nodeB = Node();
var bestEffort = new CacheEntryOptions { DataClass = DataClass.BestEffort };
await nodeA.InvalidateKeyAsync(key);
int loadsBeforeLocal = catalog.Loads;

await Step("7. node B reads: miss, loads from the source", () => nodeB.GetOrSetAsync(key, catalog.LoadAsync, bestEffort));
await Step("8. node B reads again", () => nodeB.GetOrSetAsync(key, catalog.LoadAsync, bestEffort));
await Step("9. node B reads again", () => nodeB.GetOrSetAsync(key, catalog.LoadAsync, bestEffort));
var many = Stopwatch.StartNew();
for (int i = 0; i < 10_000; i++)
{
    await nodeB.GetOrSetAsync(key, catalog.LoadAsync, bestEffort);
}

Console.WriteLine($"   10,000 more reads on node B: {many.Elapsed.TotalMilliseconds * 1000 / 10_000:F2} µs each; {Interlocked.Read(ref localHits)} reads served from memory so far");

catalog.Rename("Desk lamp (2027 model)");
var propagation = Stopwatch.StartNew();
await nodeA.InvalidateKeyAsync(key);
Console.WriteLine($"   source updated; node A invalidated the key in {propagation.Elapsed.TotalMilliseconds:F2} ms");
while ((await nodeB.GetAsync<ProductView>(key)).Found)
{
    await Task.Yield();
}

Console.WriteLine($"   the invalidation reached node B's memory {propagation.Elapsed.TotalMilliseconds:F2} ms after node A started it");
await Step("10. node B reads after it: miss, sees the new name", () => nodeB.GetOrSetAsync(key, catalog.LoadAsync, bestEffort));

Console.WriteLine();
Console.WriteLine($"The source was loaded {catalog.Loads} times for 10,010 reads.");
return catalog.Loads == 3 + 2 && catalog.Loads - loadsBeforeLocal == 2 ? 0 : 1;

async Task Step(string title, Func<ValueTask<ProductView>> read)
{
    int loadsBefore = catalog.Loads;
    long localBefore = Interlocked.Read(ref localHits);
    var watch = Stopwatch.StartNew();
    ProductView view = await read();
    string outcome = catalog.Loads > loadsBefore ? "MISS" : Interlocked.Read(ref localHits) > localBefore ? "LOCAL" : "HIT ";
    Console.WriteLine($"{title,-52} {outcome} {watch.Elapsed.TotalMilliseconds,8:F2} ms  → {view.Name} (v{view.Version})");
}

/// <summary>A stand-in for the application's view of one product, as a real service would cache it.</summary>
internal sealed record ProductView(int Id, string Name, decimal Price, int Version);

/// <summary>The source of truth: slow, and counting its loads so the demo shows what the cache saves.</summary>
internal sealed class ProductCatalog
{
    public static readonly TimeSpan LoadDelay = TimeSpan.FromMilliseconds(50);
    private string _name = "Desk lamp";
    private int _version = 1;
    private int _loads;

    public int Loads => _loads;

    public void Rename(string name)
    {
        _name = name;
        _version++;
    }

    public async ValueTask<ProductView> LoadAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _loads);
        await Task.Delay(LoadDelay, cancellationToken);
        return new ProductView(42, _name, 39.90m, _version);
    }
}
