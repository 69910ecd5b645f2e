namespace CacheInvalidation;

/// <summary>What a namespace scan did.</summary>
/// <param name="Namespace">The namespace invalidated (with the namespaces under it).</param>
/// <param name="Scanned">Keys that matched.</param>
/// <param name="Deleted">Entries deleted (the namespace was voided by a version bump before the scan began).</param>
/// <param name="Elapsed">Wall time, rate-limit pauses included.</param>
public sealed record NamespaceInvalidationReport(string Namespace, long Scanned, long Deleted, TimeSpan Elapsed)
{
    /// <summary>
    /// True when the kill switch (or the event consumer's <c>PauseNamespaceScans</c>) held the scan back: the namespace
    /// was invalidated by its version bump alone — nothing readable is left — but no key was scanned or deleted, and the
    /// old entries use memory until their TTL ends.
    /// </summary>
    public bool ScanSuspended { get; init; }
}
