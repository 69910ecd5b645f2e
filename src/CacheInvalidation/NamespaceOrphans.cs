namespace CacheInvalidation;

/// <summary>The orphans of one namespace in an <see cref="OrphanReport"/> (its own entries, not those of namespaces under it).</summary>
/// <param name="Namespace">The namespace; "" for entries outside every namespace.</param>
/// <param name="Sampled">Entries of the namespace checked.</param>
/// <param name="OrphansFound">Orphans among them.</param>
/// <param name="EstimatedOrphans">As <see cref="OrphanReport.EstimatedOrphans"/>, for this namespace.</param>
/// <param name="Removed">Orphans of the namespace removed.</param>
/// <param name="MaxRemainingLifetime">The longest remaining lifetime of its orphans; <see cref="TimeSpan.MaxValue"/> for one without a TTL.</param>
public sealed record NamespaceOrphans(string Namespace, long Sampled, long OrphansFound, long EstimatedOrphans, long Removed, TimeSpan MaxRemainingLifetime);
