namespace CacheInvalidation.Keys;

/// <summary>
/// What a read of any entry in one namespace and shard resolves: the version keys (global first, then each namespace
/// level, outermost first) and the start of every entry key of the scope. All share one hash tag. Two scopes are equal
/// when they name the same keys, so a scope rebuilt after it left the layout's cache is still the same scope.
/// </summary>
internal sealed class VersionScope(string[] versionKeys, string entryKeyPrefix) : IEquatable<VersionScope>
{
    /// <summary>The version keys whose values, joined by '.', make the version stamp an entry is written under.</summary>
    public string[] VersionKeys { get; } = versionKeys;

    /// <summary>The start of every entry key of this scope, e.g. <c>{cache:default#3}:docs:technical:</c>.</summary>
    public string EntryKeyPrefix { get; } = entryKeyPrefix;

    /// <summary>The hash tag of the scope's shard, e.g. <c>{cache:default#3}</c>.</summary>
    public string Tag { get; } = KeyLayout.TagOf(entryKeyPrefix);

    /// <summary>The invalidation sequence of the scope's shard (same hash tag).</summary>
    public string SequenceKey => KeyLayout.SequenceKeyOfTag(Tag);

    /// <summary>The channel the invalidations of the scope's shard are announced on.</summary>
    public string Channel => KeyLayout.ChannelOfTag(Tag);

    public bool Equals(VersionScope? other) => other is not null && string.Equals(EntryKeyPrefix, other.EntryKeyPrefix, StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as VersionScope);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(EntryKeyPrefix);
}
