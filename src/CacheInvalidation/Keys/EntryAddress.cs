namespace CacheInvalidation.Keys;

/// <summary>Where one entry lives: its version scope and the id part that ends its key.</summary>
internal readonly record struct EntryAddress(VersionScope Scope, string EntryKeySuffix)
{
    /// <summary>The entry's Redis key under the given version stamp.</summary>
    public string EntryKey(string versionStamp) => string.Concat(Scope.EntryKeyPrefix, versionStamp, EntryKeySuffix);
}
