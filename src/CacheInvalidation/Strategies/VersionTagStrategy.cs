using CacheInvalidation.Client;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Strategies;

/// <summary>
/// The version-tag strategy: every entry's value starts with the stamp of the global version and the version of each
/// enclosing namespace, which a read compares with the current versions in the same atomic command. Bumping a version
/// makes every entry under it unreadable and every load under it unwritable in O(1) per shard; the old entries are
/// overwritten by the next write of their key or age out by their TTL.
/// </summary>
internal sealed class VersionTagStrategy(ICacheStore store)
{
    /// <summary>Bumps the given version keys (those that exist); returns the new versions.</summary>
    public Task<long[]> BumpAsync(IReadOnlyList<string> versionKeys, CancellationToken cancellationToken) =>
        versionKeys.Count == 0 ? Task.FromResult(Array.Empty<long>()) : store.BumpAsync(versionKeys, cancellationToken);

    /// <summary>Bumps the tenant's global version on every shard; returns the new versions (0 where none existed).</summary>
    public Task<long[]> BumpGlobalAsync(KeyLayout layout, CancellationToken cancellationToken) =>
        store.BumpAsync(layout.GlobalVersionKeys(), cancellationToken);

    /// <summary>Bumps the version of <paramref name="namespace"/> (and so of every namespace under it) on every shard.</summary>
    /// <exception cref="ArgumentException"><paramref name="namespace"/> is not valid; named <paramref name="paramName"/>.</exception>
    public Task<long[]> BumpNamespaceAsync(KeyLayout layout, string @namespace, string paramName, CancellationToken cancellationToken) =>
        store.BumpAsync(layout.NamespaceVersionKeys(@namespace, paramName), cancellationToken);

    /// <summary>
    /// Bumps the global versions of every tenant under <paramref name="prefix"/>, wherever they are (found by SCAN): voids
    /// every entry of the prefix when what was lost cannot be known. A shard is found by its global version or by its
    /// invalidation sequence (which every node holding its entries in memory keeps alive), and its global version is bumped
    /// either way — a bump of a missing version still announces the shard to those nodes. Returns how many were bumped.
    /// </summary>
    public async Task<long> BumpEveryTenantAsync(IKeyspace keyspace, string prefix, CancellationToken cancellationToken)
    {
        var bumpedTags = new System.Collections.Concurrent.ConcurrentDictionary<string, byte>(StringComparer.Ordinal); // pages of several primaries may come at once
        long bumped = 0;
        foreach (string pattern in new[] { PrefixKeys.GlobalVersionPattern(prefix), PrefixKeys.SequencePattern(prefix) })
        {
            (_, long count) = await keyspace.ScanAsync(pattern, 500, async (keys, _, _, token) =>
            {
                string[] versions = keys
                    .Where(k => PrefixKeys.IsGlobalVersionKey(prefix, k) || PrefixKeys.IsSequenceKey(prefix, k))
                    .Select(KeyLayout.TagOf)
                    .Where(tag => bumpedTags.TryAdd(tag, 0))
                    .Select(KeyLayout.GlobalVersionKeyOfTag)
                    .ToArray();
                await BumpAsync(versions, token).ConfigureAwait(false);
                return versions.Length;
            }, cancellationToken).ConfigureAwait(false);
            bumped += count;
        }

        return bumped;
    }
}
