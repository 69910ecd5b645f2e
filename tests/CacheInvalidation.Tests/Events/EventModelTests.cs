using CacheInvalidation.Events;
using Microsoft.Data.Sqlite;

namespace CacheInvalidation.Tests.Events;

public sealed class EventModelTests
{
    [Fact]
    public void Json_round_trips_and_tolerates_fields_from_newer_writers()
    {
        var original = new InvalidationEvent { Type = "user.updated", Tenant = "t1", Entity = "user:7", EntityVersion = 3, Sources = ["user:7"], Origin = "eu-west" };
        string json = InvalidationEventJson.Serialize(original);
        string newer = json.Insert(1, "\"priority\":\"high\",\"schemaExtras\":{\"a\":1},").Replace("\"schema\":1", "\"schema\":2", StringComparison.Ordinal);

        InvalidationEvent parsed = InvalidationEventJson.Deserialize(newer);

        Assert.Equal(original.Id, parsed.Id);
        Assert.Equal(["user:7"], parsed.Sources);
        Assert.Equal("eu-west", parsed.Origin);
        Assert.Equal(2, parsed.Schema);
    }

    [Fact]
    public void Wire_format_is_camel_case_without_null_fields()
    {
        var invalidation = new InvalidationEvent { Id = "e1", Type = "product.updated", Keys = [new EventKey("product", "42")], Sources = ["product:42"], OccurredAt = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero) };

        string json = InvalidationEventJson.Serialize(invalidation);

        Assert.Equal(
            "{\"id\":\"e1\",\"type\":\"product.updated\",\"entityVersion\":0,\"keys\":[{\"namespace\":\"product\",\"id\":\"42\"}],\"sources\":[\"product:42\"],"
            + "\"namespaces\":[],\"invalidateAll\":false,\"occurredAt\":\"2025-01-02T03:04:05+00:00\",\"schema\":1}",
            json);
        InvalidationEvent parsed = InvalidationEventJson.Deserialize(json);
        Assert.Equal(new EventKey("product", "42"), Assert.Single(parsed.Keys));
        Assert.Equal(["product:42"], parsed.Sources);
        Assert.Equal(invalidation.OccurredAt, parsed.OccurredAt);
        Assert.Null(parsed.Tenant);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("{\"type\":\"\"}")]
    [InlineData("null")]
    public void Unusable_json_is_a_format_error_with_the_reason(string json)
    {
        var ex = Assert.Throws<FormatException>(() => InvalidationEventJson.Deserialize(json));
        Assert.StartsWith("Not an invalidation event", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Outbox_rejects_events_the_consumer_could_only_dead_letter()
    {
        await using var connection = new SqliteConnection("Data Source=:memory:");
        await connection.OpenAsync();
        var outbox = new InvalidationOutbox();
        await outbox.EnsureSchemaAsync(connection);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => outbox.AppendAsync(transaction, new InvalidationEvent { Type = "x", Sources = ["product:*"] }));
        await Assert.ThrowsAsync<ArgumentException>(() => outbox.AppendAsync(transaction, new InvalidationEvent { Type = "x", Tenant = "a b" }));
        await Assert.ThrowsAsync<ArgumentException>(() => outbox.AppendAsync(transaction, new InvalidationEvent { Type = "" }));
        await Assert.ThrowsAsync<ArgumentNullException>(() => outbox.AppendAsync(null!, new InvalidationEvent { Type = "x" }));
        Assert.Throws<ArgumentException>(() => new InvalidationOutbox("outbox; DROP TABLE products"));
    }
}
