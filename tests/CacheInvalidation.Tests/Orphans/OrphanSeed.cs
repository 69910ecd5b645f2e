using CacheInvalidation.Keys;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Orphans;

/// <summary>
/// A tenant with orphans of both kinds and current entries: root-namespace entries left under an old global version,
/// <c>docs</c> entries left under an old namespace version, and entries written (or rewritten) under the current versions.
/// Every entry depends on a source, so dependency indexes exist too.
/// </summary>
internal sealed class OrphanSeed
{
    public static readonly TimeSpan Ttl = TimeSpan.FromMinutes(30);

    private OrphanSeed(IReadOnlyList<CacheKey> orphans, IReadOnlyList<CacheKey> current)
    {
        Orphans = orphans;
        Current = current;
    }

    /// <summary>20 in the root namespace (old global version), 20 in <c>docs</c> (old namespace version).</summary>
    public IReadOnlyList<CacheKey> Orphans { get; }

    /// <summary>10 in <c>faqs</c> and 10 in <c>docs</c> rewritten after the bumps, 5 new in the root namespace.</summary>
    public IReadOnlyList<CacheKey> Current { get; }

    public static CacheEntryOptions Entry(int source, TimeSpan? ttl = null) =>
        new() { Ttl = ttl ?? Ttl, Jitter = TimeSpan.Zero, DependsOn = [$"src:{source % 3}"] };

    public static async Task<OrphanSeed> CreateAsync(SmartCache cache)
    {
        CacheKey Root(int i) => CacheKey.Create("r" + i);
        CacheKey Faq(int i) => CacheKey.Entity("faqs", i);
        CacheKey Doc(int i) => CacheKey.Entity("docs", i);

        for (int i = 0; i < 20; i++)
        {
            await cache.SetAsync(Root(i), i, Entry(i));
        }

        for (int i = 0; i < 10; i++)
        {
            await cache.SetAsync(Faq(i), i, Entry(i));
        }

        for (int i = 0; i < 30; i++)
        {
            await cache.SetAsync(Doc(i), i, Entry(i));
        }

        // Everything is an orphan now; faqs and docs are written again under the new global version.
        await cache.InvalidateAllAsync();
        for (int i = 0; i < 10; i++)
        {
            await cache.SetAsync(Faq(i), i + 100, Entry(i));
        }

        for (int i = 0; i < 30; i++)
        {
            await cache.SetAsync(Doc(i), i + 100, Entry(i));
        }

        // The docs become orphans again; the first ten are written again under the new namespace version.
        await cache.InvalidateNamespaceVersionAsync("docs");
        for (int i = 0; i < 10; i++)
        {
            await cache.SetAsync(Doc(i), i + 200, Entry(i));
        }

        for (int i = 0; i < 5; i++)
        {
            await cache.SetAsync(CacheKey.Create("n" + i), i, Entry(i));
        }

        CacheKey[] orphans = [.. Enumerable.Range(0, 20).Select(Root), .. Enumerable.Range(10, 20).Select(Doc)];
        CacheKey[] current = [.. Enumerable.Range(0, 10).Select(Faq), .. Enumerable.Range(0, 10).Select(Doc), .. Enumerable.Range(0, 5).Select(i => CacheKey.Create("n" + i))];
        return new OrphanSeed(orphans, current);
    }

    /// <summary>Options of a cache whose server TTLs are exactly the entries' TTLs and whose reads always go to Redis.</summary>
    public static void Options(SmartCacheOptions options)
    {
        Integration.TestCache.WithoutStaleBudget(options);
        options.LocalCache.Enabled = false;
    }

    /// <summary>The administration of <paramref name="cache"/>'s prefix and tenant on <paramref name="connection"/>.</summary>
    public static SmartCacheAdministration Admin(IConnectionMultiplexer connection, SmartCache cache, TimeProvider? time = null)
    {
        var options = new SmartCacheOptions { KeyPrefix = cache.Layout.Prefix, Tenant = cache.Layout.Tenant };
        return new SmartCacheAdministration(options, Integration.TestCache.Connection(connection, options), null, time);
    }

    /// <summary>The Redis key of an entry.</summary>
    public static string KeyOf(SmartCache cache, CacheKey key) => cache.Layout.Address(key).EntryKey;

    /// <summary>An on-demand cleanup with no pacing, removing every orphan.</summary>
    public static OrphanCleanupOptions Unpaced() => new() { KeysPerSecond = null };
}
