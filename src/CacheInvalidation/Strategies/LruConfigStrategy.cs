using System.Globalization;
using CacheInvalidation.Client;

namespace CacheInvalidation.Strategies;

/// <summary>
/// The LRU configuration strategy: reads <c>maxmemory</c> and <c>maxmemory-policy</c>, sets them when the options
/// allow it, and says what cannot work for a cache. A server where CONFIG is unavailable gets a warning, not an error.
/// </summary>
internal sealed class LruConfigStrategy(RedisKeyspace keyspace, SmartCacheOptions cacheOptions)
{
    private readonly MemoryPolicyOptions _options = cacheOptions.Memory;

    public async Task<MemoryPolicyReport> InspectAsync()
    {
        var warnings = new List<string>();
        var applied = new List<string>();
        if (_options.Apply)
        {
            await ApplyAsync("maxmemory", _options.MaxMemory, warnings, applied).ConfigureAwait(false);
            await ApplyAsync("maxmemory-policy", _options.EvictionPolicy, warnings, applied).ConfigureAwait(false);
        }

        IReadOnlyDictionary<string, string>? config = await keyspace.GetConfigAsync(["maxmemory", "maxmemory-policy"]).ConfigureAwait(false);
        if (config is null || !config.TryGetValue("maxmemory", out string? maxMemoryText) || !config.TryGetValue("maxmemory-policy", out string? policy))
        {
            warnings.Add("CONFIG is not available (disabled or renamed, as on managed Redis, or the connection lacks allowAdmin=true): " +
                "maxmemory and maxmemory-policy could not be checked. Make sure the server evicts (e.g. volatile-lru) and has a memory limit.");
            return new MemoryPolicyReport(false, null, null, warnings, applied);
        }

        long maxMemory = long.Parse(maxMemoryText, CultureInfo.InvariantCulture);
        if (maxMemory == 0)
        {
            warnings.Add("maxmemory is 0 (no limit): Redis never evicts, and grows until the host runs out of memory. Set a limit.");
        }

        if (policy == "noeviction")
        {
            warnings.Add("maxmemory-policy is noeviction: when memory is full every write fails and nothing is cached any more. " +
                "Use volatile-lru (every cache entry carries a TTL) or allkeys-lru.");
        }
        else if (policy.StartsWith("allkeys-", StringComparison.Ordinal))
        {
            warnings.Add($"maxmemory-policy is {policy}: besides what carries a TTL it can evict the keys the library keeps without one — the event " +
                "stream and its consumer group (pending invalidations are then lost) and the audit stream. Prefer volatile-lru: every entry, version, " +
                "lease and index has a TTL.");
        }
        else if (policy.StartsWith("volatile-", StringComparison.Ordinal))
        {
            // Entries, versions, leases and indexes carry a TTL, so volatile-* can evict them (an evicted version only
            // means misses); the streams have none, so they are never evicted. Only entries configured never to expire
            // escape eviction.
            string[] unevictable = PoliciesWithoutExpiration().ToArray();
            if (unevictable.Length > 0)
            {
                warnings.Add($"maxmemory-policy is {policy}, which never evicts keys without a TTL, and these policies write entries without one: " +
                    $"{string.Join(", ", unevictable)}. Give them a TTL or use an allkeys-* policy.");
            }
        }

        return new MemoryPolicyReport(true, maxMemory, policy, warnings, applied);
    }

    private IEnumerable<string> PoliciesWithoutExpiration() =>
        cacheOptions.Policies.Where(p => p.Value is { IsCached: true, TimeToLive: null }).Select(p => $"data class {p.Key}")
            .Concat(cacheOptions.ContentTypePolicies.Where(p => p.Value is { IsCached: true, TimeToLive: null }).Select(p => $"content type {p.Key}"));

    private async Task ApplyAsync(string parameter, string? value, List<string> warnings, List<string> applied)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return;
        }

        string? error = await keyspace.SetConfigAsync(parameter, value).ConfigureAwait(false);
        if (error is null)
        {
            applied.Add($"{parameter} {value}");
        }
        else
        {
            warnings.Add($"CONFIG SET {parameter} {value} failed: {error}");
        }
    }
}
