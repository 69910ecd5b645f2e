using System.Text.Json;
using System.Text.Json.Serialization;

namespace CacheInvalidation.Events;

/// <summary>
/// The wire format of events: camelCase JSON. Fields a newer writer adds are ignored, so producers can be upgraded
/// before consumers; the fields this version knows keep their meaning in every schema.
/// </summary>
internal static class InvalidationEventJson
{
    public static string Serialize(InvalidationEvent invalidationEvent) => JsonSerializer.Serialize(invalidationEvent, InvalidationEventJsonContext.Default.InvalidationEvent);

    /// <summary>Parses an event; throws <see cref="FormatException"/> with the reason when it cannot be applied.</summary>
    public static InvalidationEvent Deserialize(string json)
    {
        InvalidationEvent? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(json, InvalidationEventJsonContext.Default.InvalidationEvent);
        }
        catch (JsonException ex)
        {
            throw new FormatException("Not an invalidation event: " + ex.Message, ex);
        }

        if (parsed is null || string.IsNullOrWhiteSpace(parsed.Id) || string.IsNullOrWhiteSpace(parsed.Type))
        {
            throw new FormatException("Not an invalidation event: id and type are required.");
        }

        // JSON can put null wherever it likes: collections and their items are checked here, not trusted.
        if (parsed.Keys is null || parsed.Sources is null || parsed.Namespaces is null
            || parsed.Keys.Any(k => k is null || k.Namespace is null || string.IsNullOrEmpty(k.Id))
            || parsed.Sources.Any(string.IsNullOrEmpty) || parsed.Namespaces.Any(string.IsNullOrEmpty))
        {
            throw new FormatException("Not an invalidation event: keys, sources and namespaces must be lists without null or empty items (a key needs a namespace, possibly empty, and an id).");
        }

        return parsed;
    }
}

/// <summary>Source-generated metadata of the event format, so trimmed and Native AOT applications read and write events too.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InvalidationEvent))]
internal sealed partial class InvalidationEventJsonContext : JsonSerializerContext;
