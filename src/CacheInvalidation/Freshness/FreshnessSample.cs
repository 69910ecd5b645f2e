using CacheInvalidation.Client;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Freshness;

/// <summary>An entry drawn for verification, with the source it is compared with.</summary>
internal readonly record struct Drawn(CacheKey Key, SourceRegistration Source);

/// <summary>How verification draws its sample: uniformly at random over the entries of the verified namespaces.</summary>
internal static class FreshnessSample
{
    private const int ScanPageSize = 1000;

    /// <summary>A uniform sample (reservoir) of the entry keys of the verified namespaces, from one SCAN of the tenant.</summary>
    public static async Task<List<Drawn>> DrawAsync(IKeyspace keyspace, IReadOnlyDictionary<string, SourceRegistration> sources, KeyLayout layout, int size, FreshnessTally tally, CancellationToken cancellationToken)
    {
        var sample = new List<Drawn>(Math.Min(size, 4096));
        long seen = 0;
        await keyspace.ScanAsync(layout.TenantPattern(), ScanPageSize, (keys, _, _, _) =>
        {
            foreach (string key in keys)
            {
                if (!TryParse(sources, key, out CacheKey cacheKey, out SourceRegistration? source))
                {
                    continue;
                }

                seen++;
                if (sample.Count < size)
                {
                    sample.Add(new Drawn(cacheKey, source));
                }
                else if (Random.Shared.NextInt64(seen) is var slot && slot < size)
                {
                    sample[(int)slot] = new Drawn(cacheKey, source);
                }
            }

            return Task.FromResult(0L);
        }, cancellationToken).ConfigureAwait(false);

        tally.KeysScanned = seen;
        foreach (Drawn _ in sample)
        {
            tally.Drawn();
        }

        return sample;
    }

    private static bool TryParse(IReadOnlyDictionary<string, SourceRegistration> sources, string key, out CacheKey cacheKey, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SourceRegistration? source)
    {
        cacheKey = default;
        source = null;
        int close = key.IndexOf('}', StringComparison.Ordinal);
        if (close <= 0
            || !KeyLayout.TryParseEntryKey(key, key[..(close + 1)], out string @namespace, out string id)
            || !sources.TryGetValue(@namespace, out source)
            || !id.All(KeyPart.IsAllowed))
        {
            source = null;
            return false;
        }

        cacheKey = CacheKey.Create(@namespace, id);
        return true;
    }
}
