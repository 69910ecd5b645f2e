namespace CacheInvalidation.Benchmarks;

/// <summary>The payload of every benchmark: a small POCO that serializes to about 1 KB of JSON.</summary>
public sealed class Product
{
    public int Id { get; set; }

    public string Name { get; set; } = string.Empty;

    public string Description { get; set; } = string.Empty;

    public decimal Price { get; set; }

    public List<string> Tags { get; set; } = [];

    public DateTimeOffset UpdatedAt { get; set; }

    public static Product Sample(int id) => new()
    {
        Id = id,
        Name = $"Desk lamp {id}",
        Description = string.Concat(Enumerable.Repeat("An adjustable LED desk lamp with a weighted base. ", 17)),
        Price = 39.90m,
        Tags = ["lighting", "office", "led", "adjustable"],
        UpdatedAt = new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero),
    };
}
