using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Hybrid;

namespace CacheInvalidation.Tests.Hybrid;

/// <summary>The source of truth of the HybridCache tests: counts its loads per key, and reads through a node with the state overload.</summary>
internal sealed class FactoryCalls
{
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);

    /// <summary>How often the factory of <paramref name="key"/> ran.</summary>
    public int this[string key] => _calls.GetValueOrDefault(key);

    /// <summary>How often any factory ran.</summary>
    public int Total => _calls.Values.Sum();

    /// <summary><c>GetOrCreateAsync</c> on <paramref name="node"/>, whose factory (counted) loads <paramref name="value"/>.</summary>
    public ValueTask<int> GetAsync(HybridCache node, string key, int value, IEnumerable<string>? tags = null, HybridCacheEntryOptions? options = null) =>
        node.GetOrCreateAsync(key, (Calls: this, Key: key, Value: value), static (s, _) => s.Calls.Load(s.Key, s.Value), options, tags);

    private ValueTask<int> Load(string key, int value)
    {
        _calls.AddOrUpdate(key, 1, static (_, n) => n + 1);
        return ValueTask.FromResult(value);
    }
}
