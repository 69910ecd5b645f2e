using CacheInvalidation.Policy;
using Microsoft.Extensions.Caching.Hybrid;

namespace CacheInvalidation.Hybrid;

/// <summary>Options of the <see cref="HybridCache"/> that <c>AsHybridCache()</c> registers; all optional.</summary>
public sealed class SmartHybridCacheOptions
{
    /// <summary>
    /// Options for calls that pass none, and for the values a call's options leave null (the most specific non-null value
    /// wins, as <see cref="HybridCacheEntryOptions"/> documents). Null: the cache's own defaults.
    /// </summary>
    public HybridCacheEntryOptions? DefaultEntryOptions { get; set; }

    /// <summary>
    /// The data class of every HybridCache entry: its policy gives the TTL when no expiration is set, the stale budget,
    /// and whether the local tier may serve it from memory. Null: as for any entry without a data class.
    /// </summary>
    public DataClass? DataClass { get; set; }
}
