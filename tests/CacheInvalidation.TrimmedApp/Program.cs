using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using CacheInvalidation;
using CacheInvalidation.Keys;
using Microsoft.Extensions.DependencyInjection;

// Usage: CacheInvalidation.TrimmedApp context|reflection|missing-type READS, with REDIS_URL set.
//   context       the serializer has this app's JsonSerializerContext: the factory runs once for READS reads
//   reflection    no context (the default serializer): start-up must fail, reflection being disabled when trimmed
//   missing-type  a context that lacks the cached type: the first read must fail naming it
if (args.Length != 2 || !int.TryParse(args[1], CultureInfo.InvariantCulture, out int reads) || reads < 1)
{
    Console.Error.WriteLine("usage: CacheInvalidation.TrimmedApp context|reflection|missing-type READS");
    return 2;
}

string mode = args[0];
string redis = Environment.GetEnvironmentVariable("REDIS_URL") is { Length: > 0 } url
    ? url
    : throw new InvalidOperationException("REDIS_URL is not set.");
Console.WriteLine($"reflection enabled: {JsonSerializer.IsReflectionEnabledByDefault}");

var services = new ServiceCollection();
services.AddSmartCache(o =>
{
    o.Configuration = redis;
    o.KeyPrefix = "trimmed" + Guid.NewGuid().ToString("N")[..12]; // a fresh keyspace: the count is this run's alone
    o.Serializer = mode switch
    {
        "context" => new SystemTextJsonCacheSerializer(AppJsonContext.Default),
        "missing-type" => new SystemTextJsonCacheSerializer(UnrelatedJsonContext.Default),
        _ => o.Serializer,
    };
});
using ServiceProvider provider = services.BuildServiceProvider();
ISmartCache cache = provider.GetRequiredService<ISmartCache>(); // validates the options: a bad configuration throws here

int factoryCalls = 0;
Forecast? last = null;
for (int i = 0; i < reads; i++)
{
    last = await cache.GetOrSetAsync(CacheKey.Entity("forecast", 1), _ =>
    {
        factoryCalls++;
        return ValueTask.FromResult(new Forecast(1, "Sunny", 21, ["Lyon", "Turin"]));
    });
}

Console.WriteLine($"factory calls: {factoryCalls} for {reads} reads; value: {last!.Summary} {last.TemperatureC} {string.Join('+', last.Cities)}");
return 0;

/// <summary>The cached value: a record with a collection, as real values have.</summary>
internal sealed record Forecast(int Id, string Summary, int TemperatureC, IReadOnlyList<string> Cities);

/// <summary>What a trimmed application declares for the cache: every cached type, with web defaults.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Forecast))]
internal sealed partial class AppJsonContext : JsonSerializerContext;

/// <summary>A context that forgot the cached type.</summary>
[JsonSerializable(typeof(DateOnly))]
internal sealed partial class UnrelatedJsonContext : JsonSerializerContext;
