namespace CacheInvalidation;

/// <summary>What an administrative purge did; the same facts are in the audit stream.</summary>
/// <param name="Scope">What was purged: <c>tenant:NAME</c> or <c>all-tenants</c>.</param>
/// <param name="Deleted">Keys deleted.</param>
/// <param name="AuditId">The id of the audit record written before the purge started.</param>
public sealed record PurgeReport(string Scope, long Deleted, string AuditId);
