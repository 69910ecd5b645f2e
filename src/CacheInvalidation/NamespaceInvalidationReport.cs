namespace CacheInvalidation;

/// <summary>What a namespace scan did.</summary>
/// <param name="Namespace">The namespace invalidated (with the namespaces under it).</param>
/// <param name="Scanned">Keys that matched.</param>
/// <param name="Deleted">Keys deleted (entries and their leases).</param>
/// <param name="Elapsed">Wall time, rate-limit pauses included.</param>
public sealed record NamespaceInvalidationReport(string Namespace, long Scanned, long Deleted, TimeSpan Elapsed);
