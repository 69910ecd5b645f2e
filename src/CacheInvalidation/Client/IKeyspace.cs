namespace CacheInvalidation.Client;

/// <summary>Keyspace-wide work the scans need: SCAN on every primary and UNLINK grouped by hash slot. Throws <see cref="CacheStoreException"/> when the store fails.</summary>
internal interface IKeyspace
{
    /// <summary>Hands every page of keys matching <paramref name="pattern"/> (on every primary) to <paramref name="onBatch"/> with the counts so far; returns the keys scanned and the sum of what it returned.</summary>
    Task<(long Scanned, long Removed)> ScanAsync(string pattern, int pageSize, Func<IReadOnlyList<string>, long, long, CancellationToken, Task<long>> onBatch, CancellationToken cancellationToken);

    /// <summary>Unlinks keys; returns how many existed.</summary>
    Task<long> UnlinkAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);
}
