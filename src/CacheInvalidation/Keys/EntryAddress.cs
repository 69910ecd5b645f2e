namespace CacheInvalidation.Keys;

/// <summary>Where one entry lives: its version scope and its key (stable across versions: the stamp is in the value).</summary>
internal readonly record struct EntryAddress(VersionScope Scope, string EntryKey)
{
    /// <summary>The entry's lease key.</summary>
    public string LeaseKey => KeyLayout.LeaseKeyOf(EntryKey);
}
