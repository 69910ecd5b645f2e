namespace CacheInvalidation.Client;

/// <summary>
/// Keyspace-wide work the scans need — SCAN on every primary and UNLINK grouped by hash slot — and the prefix's small
/// shared records (the kill switch). Throws <see cref="CacheStoreException"/> when the store fails.
/// </summary>
internal interface IKeyspace
{
    /// <summary>Hands every page of keys matching <paramref name="pattern"/> (on every primary) to <paramref name="onBatch"/> with the counts so far; returns the keys scanned and the sum of what it returned.</summary>
    Task<(long Scanned, long Removed)> ScanAsync(string pattern, int pageSize, Func<IReadOnlyList<string>, long, long, CancellationToken, Task<long>> onBatch, CancellationToken cancellationToken);

    /// <summary>Unlinks keys; returns how many existed.</summary>
    Task<long> UnlinkAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);

    /// <summary>One field of a small record (a hash) such as the kill switch; null when the record or field does not exist.</summary>
    Task<string?> ReadRecordFieldAsync(string key, string field, CancellationToken cancellationToken);

    /// <summary>Every field of a small record (a hash); empty when it does not exist.</summary>
    Task<IReadOnlyDictionary<string, string>> ReadRecordAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Sets the fields of a record and appends <paramref name="audit"/> to the capped stream <paramref name="auditStream"/>
    /// in one transaction (both keys share a hash tag): the change is never made without its audit record. Returns the
    /// audit record's id.
    /// </summary>
    Task<string> WriteRecordAuditedAsync(
        string key,
        IReadOnlyList<KeyValuePair<string, string>> fields,
        string auditStream,
        IReadOnlyList<KeyValuePair<string, string>> audit,
        int auditMaxLength,
        CancellationToken cancellationToken);
}
