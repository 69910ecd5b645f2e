namespace CacheInvalidation.Client;

/// <summary>
/// The result of reading an entry: its bytes on a hit. On a miss: the version stamp it was looked up under (a write of
/// the value computed next must still match it), the lease token if this caller took the key's lease, else how long
/// the current owner's lease has left.
/// </summary>
internal readonly record struct StoredEntry(byte[]? Value, string? Stamp, string? LeaseToken, TimeSpan LeaseLeft)
{
    public static StoredEntry Hit(byte[] value) => new(value, null, null, TimeSpan.Zero);
}
