using System.Globalization;
using CacheInvalidation.Client;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Strategies;

/// <summary>
/// Makes sure every application writing to or invalidating a key prefix lays its keys out alike. Two applications with
/// different <see cref="SmartCacheOptions.VersionShards"/> would compute other shards for the same key and bump other
/// versions, so one's invalidations would miss the other's entries. The first write or invalidation records the layout
/// of the prefix for good; one that finds another is refused. Checked once per process, then free; reads are never
/// checked (they write nothing). To change the shards, change the key prefix too: the old keys then age out.
/// </summary>
internal sealed class LayoutGuard(ICacheStore store, string prefix, int shards)
{
    private readonly string _layout = "shards=" + shards.ToString(CultureInfo.InvariantCulture);
    private volatile bool _confirmed;

    /// <summary>Whether the prefix is laid out as this process lays it out (recording it if nothing is recorded yet).</summary>
    /// <exception cref="CacheStoreException">Redis failed; the check runs again next time.</exception>
    public async ValueTask<string?> MismatchAsync(CancellationToken cancellationToken)
    {
        if (_confirmed)
        {
            return null;
        }

        string recorded = await store.ClaimLayoutAsync(PrefixKeys.LayoutKey(prefix), _layout, cancellationToken).ConfigureAwait(false);
        if (recorded == _layout)
        {
            _confirmed = true;
            return null;
        }

        return $"SmartCacheOptions.VersionShards is {shards}, but the cache under key prefix '{prefix}' is laid out with {recorded}: " +
            "every application that shares a prefix must use the same VersionShards, or their invalidations miss each other's entries. " +
            "To change VersionShards, change KeyPrefix as well (the old keys age out by their TTL).";
    }

    /// <summary>Throws when the prefix is laid out otherwise.</summary>
    /// <exception cref="InvalidOperationException">Another application writes this prefix with other version shards.</exception>
    public async ValueTask ThrowIfMismatchedAsync(CancellationToken cancellationToken)
    {
        if (await MismatchAsync(cancellationToken).ConfigureAwait(false) is { } mismatch)
        {
            throw new InvalidOperationException(mismatch);
        }
    }
}
