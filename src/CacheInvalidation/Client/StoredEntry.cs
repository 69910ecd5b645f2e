namespace CacheInvalidation.Client;

/// <summary>
/// The result of reading an entry: its bytes on a hit; on a miss, the version stamp it was looked up under, which a
/// write of the value computed next must still match.
/// </summary>
internal readonly record struct StoredEntry(byte[]? Value, string? Stamp);
