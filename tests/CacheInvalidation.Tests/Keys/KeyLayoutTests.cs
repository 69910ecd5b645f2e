using CacheInvalidation.Keys;

namespace CacheInvalidation.Tests.Keys;

public sealed class KeyLayoutTests
{
    [Fact]
    public void Entry_lease_and_versions_share_one_hash_tag()
    {
        var layout = new KeyLayout("cache", "t1", shards: 16);

        EntryAddress address = layout.Address(CacheKey.Create("docs:technical", "guide"));

        string tag = address.EntryKey[..(address.EntryKey.IndexOf('}') + 1)];
        Assert.Matches(@"^\{cache:t1#\d+\}$", tag);
        Assert.Equal([tag + "#v", tag + ":docs#v", tag + ":docs:technical#v"], address.Scope.VersionKeys);
        Assert.Equal(tag + ":docs:technical:guide", address.EntryKey);
        Assert.Equal(tag + ":docs:technical:guide#l", address.LeaseKey);
    }

    [Fact]
    public void Key_without_namespace_depends_on_the_global_version_only()
    {
        var layout = new KeyLayout("cache", "t1", shards: 1);

        EntryAddress address = layout.Address(CacheKey.Create("k"));

        Assert.Equal(["{cache:t1#0}#v"], address.Scope.VersionKeys);
        Assert.Equal("{cache:t1#0}:k", address.EntryKey);
    }

    [Fact]
    public void Scopes_are_equal_by_value_even_when_rebuilt()
    {
        var a = new KeyLayout("cache", "t1", shards: 4);
        var b = new KeyLayout("cache", "t1", shards: 4);

        EntryAddress first = a.Address(CacheKey.Create("docs", "x"));
        EntryAddress second = b.Address(CacheKey.Create("docs", "x"));

        Assert.NotSame(first.Scope, second.Scope);
        Assert.Equal(first.Scope, second.Scope);
        Assert.Equal(first, second);
    }

    [Fact]
    public void Shard_is_deterministic_and_spreads_keys()
    {
        var a = new KeyLayout("cache", "t1", shards: 16);
        var b = new KeyLayout("cache", "t1", shards: 16);

        var shards = Enumerable.Range(0, 1000).Select(i => a.ShardOf(CacheKey.Entity("product", i))).ToList();

        Assert.Equal(shards, Enumerable.Range(0, 1000).Select(i => b.ShardOf(CacheKey.Entity("product", i))));
        Assert.Equal(16, shards.Distinct().Count());
        Assert.All(shards.GroupBy(s => s), g => Assert.InRange(g.Count(), 30, 100));
    }

    [Fact]
    public void Version_keys_exist_once_per_shard()
    {
        var layout = new KeyLayout("app:cache", "t1", shards: 4);

        Assert.Equal(["{app:cache:t1#0}#v", "{app:cache:t1#1}#v", "{app:cache:t1#2}#v", "{app:cache:t1#3}#v"], layout.GlobalVersionKeys());
        Assert.Equal("{app:cache:t1#2}:docs#v", layout.NamespaceVersionKeys("docs", "namespaceName")[2]);
    }

    [Fact]
    public void Source_index_its_snapshots_and_drain_list_share_the_source_tag()
    {
        var layout = new KeyLayout("cache", "t1", shards: 4);

        SourceKeys source = layout.Source("product:42");
        string snapshot = source.NewSnapshot();

        Assert.Equal("{cache:t1#src:product:42}#d", source.Index);
        Assert.Equal("{cache:t1#src:product:42}#drain", source.DrainList);
        Assert.StartsWith("{cache:t1#src:product:42}#d:", snapshot, StringComparison.Ordinal);
        Assert.NotEqual(snapshot, source.NewSnapshot());
        Assert.Equal(source, KeyLayout.SourceKeysOf(snapshot));
        Assert.Equal(source, KeyLayout.SourceKeysOf(source.DrainList));
        Assert.Null(KeyLayout.SourceKeysOf(layout.Address(CacheKey.Create("src", "x")).EntryKey));
    }

    [Fact]
    public void Scan_rules_are_anchored_at_the_tenant_and_exact_about_the_namespace()
    {
        // Prefix "acc" with tenant "t1" must never reach prefix "acc:t1" with tenant "9" (whose keys begin the same).
        var mine = new KeyLayout("acc", "t1", shards: 16);
        var other = new KeyLayout("acc:t1", "9", shards: 16);
        string mineEntry = mine.Address(CacheKey.Create("docs", "a")).EntryKey;
        string otherEntry = other.Address(CacheKey.Create("docs", "a")).EntryKey;

        Assert.True(mine.IsEntryInNamespace(mineEntry, "docs"));
        Assert.True(mine.IsEntryInNamespace(mine.Address(CacheKey.Create("docs:technical", "b")).EntryKey, "docs"));
        Assert.False(mine.IsEntryInNamespace(mine.Address(CacheKey.Create("docsx", "a")).EntryKey, "docs"));
        Assert.False(mine.IsEntryInNamespace(KeyLayout.LeaseKeyOf(mineEntry), "docs"));
        Assert.False(mine.IsEntryInNamespace(mine.NamespaceVersionKeys("docs:technical", "n")[3], "docs"));
        Assert.False(mine.IsEntryInNamespace(otherEntry, "docs"));
        Assert.False(mine.IsTenantKey(otherEntry));
        Assert.False(mine.IsTenantKey(other.Source("x").Index));
        Assert.True(mine.IsTenantKey(mine.Source("x").Index));
        Assert.False(Glob.Matches(mine.TenantPattern(), otherEntry));
        Assert.False(Glob.Matches(mine.NamespacePattern("docs", "n"), otherEntry));
        Assert.True(Glob.Matches(mine.NamespacePattern("docs", "n"), mineEntry));

        Assert.True(PrefixKeys.IsPrefixKey("acc", mineEntry));
        Assert.False(PrefixKeys.IsPrefixKey("acc", otherEntry));
        Assert.False(PrefixKeys.IsPrefixKey("acc", PrefixKeys.AuditStreamKey("acc:t1")));
        Assert.True(PrefixKeys.IsGlobalVersionKey("acc", mine.GlobalVersionKeys()[7]));
        Assert.False(PrefixKeys.IsGlobalVersionKey("acc", other.GlobalVersionKeys()[7]));
        Assert.False(PrefixKeys.IsGlobalVersionKey("acc", mine.NamespaceVersionKeys("docs", "n")[7]));
    }

    [Fact]
    public void Empty_key_is_rejected_naming_the_argument()
    {
        var layout = new KeyLayout("cache", "t1", shards: 4);

        var ex = Assert.Throws<ArgumentException>(() => layout.Address(default));
        Assert.Equal("key", ex.ParamName);
    }

    [Theory]
    [InlineData("*", "t")]
    [InlineData("cache", "te*nant")]
    [InlineData("cache", "")]
    [InlineData("cache", "a:b")]
    public void Bad_prefix_or_tenant_is_rejected(string prefix, string tenant)
    {
        Assert.ThrowsAny<ArgumentException>(() => new KeyLayout(prefix, tenant, 4));
    }

    /// <summary>Redis's SCAN MATCH glob for the characters the library's patterns use (<c>*</c> and <c>[0-9]</c>).</summary>
    private static class Glob
    {
        public static bool Matches(string pattern, string text) =>
            System.Text.RegularExpressions.Regex.IsMatch(text, "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace(@"\*", ".*", StringComparison.Ordinal).Replace(@"\[0-9]", "[0-9]", StringComparison.Ordinal) + "$");
    }
}
