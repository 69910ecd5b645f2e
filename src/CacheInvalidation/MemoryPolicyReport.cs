namespace CacheInvalidation;

/// <summary>The server's memory limit and eviction policy, as read with CONFIG GET, and what the library thinks of them.</summary>
/// <param name="ConfigAvailable">False when CONFIG is disabled, renamed (managed Redis) or not allowed on this connection.</param>
/// <param name="MaxMemoryBytes">The <c>maxmemory</c> limit; 0 means none; null when unknown.</param>
/// <param name="EvictionPolicy">The <c>maxmemory-policy</c>; null when unknown.</param>
/// <param name="Warnings">Problems: the cache cannot evict, has no limit, or could not be checked.</param>
/// <param name="Applied">Settings changed with CONFIG SET because the options asked for it.</param>
public sealed record MemoryPolicyReport(bool ConfigAvailable, long? MaxMemoryBytes, string? EvictionPolicy, IReadOnlyList<string> Warnings, IReadOnlyList<string> Applied);
