namespace CacheInvalidation;

/// <summary>
/// Supplies the tenant of the current call (from the request, the message being handled…). Register one in the
/// container to scope every key and every invalidation to it; when it returns null, <see cref="SmartCacheOptions.Tenant"/>
/// applies.
/// </summary>
public interface ITenantAccessor
{
    /// <summary>The current tenant, or null for the configured default. Must be a valid key part.</summary>
    string? CurrentTenant { get; }
}
