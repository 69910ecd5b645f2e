namespace CacheInvalidation;

/// <summary>Progress of a namespace scan, reported after each batch.</summary>
/// <param name="Scanned">Keys matched so far.</param>
/// <param name="Deleted">Keys deleted so far.</param>
public sealed record NamespaceInvalidationProgress(long Scanned, long Deleted);
