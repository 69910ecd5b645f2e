using System.Text.Json;
using System.Text.Json.Serialization;
using CacheInvalidation.Tests.Integration;

namespace CacheInvalidation.Tests.Serialization;

/// <summary>What a trimmed application declares: <see cref="Product"/> only, so <see cref="Order"/> is missing on purpose.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Product))]
[JsonSerializable(typeof(string))]
internal sealed partial class TestJsonContext : JsonSerializerContext;

public sealed record Order(int Id, IReadOnlyList<Product> Lines);
