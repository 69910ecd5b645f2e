namespace CacheInvalidation.Client;

/// <summary>The result of reading an entry: its bytes (null on a miss) and the version stamp it was looked up under.</summary>
internal readonly record struct StoredEntry(byte[]? Value, string Stamp);
