using CacheInvalidation.Keys;

namespace CacheInvalidation.Tests.Keys;

public sealed class KeyLayoutTests
{
    [Fact]
    public void Entry_and_its_versions_share_one_hash_tag()
    {
        var layout = new KeyLayout("cache", "t1", shards: 16);

        EntryAddress address = layout.Address(CacheKey.Create("docs:technical", "guide"));

        string tag = address.Scope.HashTag;
        Assert.Matches(@"^\{cache:t1:\d+\}$", tag);
        Assert.Equal([tag + "#v", tag + ":docs#v", tag + ":docs:technical#v"], address.Scope.VersionKeys);
        Assert.Equal(tag + ":docs:technical:v1.2.3:guide", address.EntryKey("1.2.3"));
    }

    [Fact]
    public void Key_without_namespace_depends_on_the_global_version_only()
    {
        var layout = new KeyLayout("cache", "t1", shards: 1);

        EntryAddress address = layout.Address(CacheKey.Create("k"));

        Assert.Equal(["{cache:t1:0}#v"], address.Scope.VersionKeys);
        Assert.Equal("{cache:t1:0}:v7:k", address.EntryKey("7"));
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

        Assert.Equal(["{app:cache:t1:0}#v", "{app:cache:t1:1}#v", "{app:cache:t1:2}#v", "{app:cache:t1:3}#v"], layout.GlobalVersionKeys());
        Assert.Equal("{app:cache:t1:2}:docs#v", layout.NamespaceVersionKeys("docs")[2]);
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
    public void Bad_prefix_or_tenant_is_rejected(string prefix, string tenant)
    {
        Assert.ThrowsAny<ArgumentException>(() => new KeyLayout(prefix, tenant, 4));
    }
}
