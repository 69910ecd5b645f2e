namespace CacheInvalidation.Keys;

/// <summary>The keys of one source's dependency index: the live index and the list of its snapshots being drained.</summary>
internal sealed record SourceKeys(string Index, string DrainList)
{
    /// <summary>The keys under a source's hash tag (braces included).</summary>
    public static SourceKeys OfTag(string tag) => new(tag + "#d", tag + "#drain");

    /// <summary>A new, unique name for a snapshot of the index (same hash tag).</summary>
    public string NewSnapshot() => Index + ":" + Guid.NewGuid().ToString("N");
}
