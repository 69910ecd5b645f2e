namespace CacheInvalidation.Keys;

/// <summary>
/// What a read of any entry in one namespace and shard must resolve: the version keys (global first, then each
/// namespace level, outermost first) and the start of the entry key, to which the resolved version stamp and the id
/// are appended. All of them carry the same hash tag, so one script may touch them together on a cluster.
/// </summary>
internal sealed class VersionScope(string hashTag, string[] versionKeys, string entryKeyPrefix)
{
    /// <summary>The hash tag shared by every key of this scope, braces included.</summary>
    public string HashTag { get; } = hashTag;

    /// <summary>The version keys whose values, joined by '.', make the version stamp of an entry key.</summary>
    public string[] VersionKeys { get; } = versionKeys;

    /// <summary>The entry key up to the version stamp, e.g. <c>{cache:default:3}:docs:technical:v</c>.</summary>
    public string EntryKeyPrefix { get; } = entryKeyPrefix;
}
