using CacheInvalidation.Hybrid;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Tests.Hybrid;

/// <summary>How HybridCache keys and tags become cache keys and sources: readable, bounded, safe and collision-free.</summary>
public sealed class HybridCacheKeysTests
{
    private static readonly string[] Tricky =
    [
        "a:b", "a b", "a_b", "a*b", "a?b", "a[b]", "a{b}", "a}b", "a\\b", "a#b", "a~b", "a\nb", "a\tb", "a\u00e9b", "a\u00c9b",
        "*", "?", "[", "{", "}", ":", "~", "#", " ", "_", "\uD800", "\uD801", "\uDC00x", "日本", "🙂", "🙃",
        new string('a', 128), new string('a', 129), new string('a', 1_000), new string('a', 999) + "b", new string('a', 95) + ":",
    ];

    [Theory]
    [InlineData("product-42")]
    [InlineData("user.42@tenant/orders,2024=ok!$%&()+")]
    [InlineData("A")]
    public void A_key_that_is_already_safe_stays_exactly_as_is(string key)
    {
        CacheKey mapped = HybridCacheKeys.ToCacheKey(key);

        Assert.Equal("hybrid", mapped.Namespace);
        Assert.Equal(key, mapped.Id);
    }

    [Fact]
    public void An_altered_key_keeps_its_allowed_characters_readable_and_ends_with_a_hash()
    {
        string id = HybridCacheKeys.ToCacheKey("user:42 profile").Id;

        Assert.Matches("^user_42_profile~[0-9a-f]{32}$", id);
    }

    [Fact]
    public void Different_keys_never_map_to_the_same_id_even_when_they_look_alike_once_made_safe()
    {
        string crafted = HybridCacheKeys.ToCacheKey("a:b").Id; // a safe-looking text equal to another key's altered form
        string[] keys = [.. Tricky, crafted, crafted.Replace('~', '_')];

        string[] ids = keys.Select(k => HybridCacheKeys.ToCacheKey(k).Id).ToArray();

        Assert.Equal(keys.Length, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Every_id_is_a_valid_bounded_key_part_without_separator_glob_or_hash_tag_characters()
    {
        var random = new Random(1);
        IEnumerable<string> randomKeys = Enumerable.Range(0, 2_000).Select(_ =>
            new string(Enumerable.Range(0, random.Next(1, 300)).Select(_ => (char)random.Next(0, 0x3000)).ToArray()));
        string[] keys = [.. Tricky, .. randomKeys];

        string[] ids = keys.Select(k => HybridCacheKeys.ToCacheKey(k).Id).ToArray();

        foreach (string id in ids)
        {
            Assert.Equal(id, KeyPart.Validate(id, "id")); // throws on an empty, too long or unsafe part
            Assert.True(id.Length <= KeyPart.MaxLength);
            Assert.DoesNotContain(id, c => c is ':' or '*' or '?' or '[' or ']' or '{' or '}' or '\\' or '#' or ' ');
        }

        Assert.Equal(keys.Distinct(StringComparer.Ordinal).Count(), ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Mapping_is_stable_across_versions_so_nodes_of_two_releases_find_the_same_entries()
    {
        // Pinned: a change here orphans every altered entry and splits a rolling deployment's nodes.
        Assert.Equal("product_42~abb3657895e4fbc3bcb055c0c9ac4c4c", HybridCacheKeys.ToCacheKey("product:42").Id);
        Assert.Equal("Product_42~aa60f499740985e3a029b5bb2a93c2fe", HybridCacheKeys.ToSource("Product 42"));
        Assert.Equal(HybridCacheKeys.ToCacheKey(new string('x', 500)), HybridCacheKeys.ToCacheKey(new string('x', 500)));
    }

    [Theory]
    [InlineData("product:42")]
    [InlineData("seller")]
    [InlineData("a:b:c:d:e:f:g:h")]
    public void A_tag_that_is_already_a_valid_source_stays_as_is(string tag)
    {
        Assert.Equal(tag, HybridCacheKeys.ToSource(tag));
    }

    [Theory]
    [InlineData("product 42")]
    [InlineData("a::b")]
    [InlineData(":a")]
    [InlineData("a:")]
    [InlineData("a:b:c:d:e:f:g:h:i")]
    [InlineData("a~b")]
    [InlineData("{tenant}")]
    public void Other_tags_become_a_single_valid_source_with_a_hash(string tag)
    {
        string source = HybridCacheKeys.ToSource(tag);

        Assert.Matches("^[^:~]*~[0-9a-f]{32}$", source);
        Assert.Single(KeyPart.ValidateHierarchical(source, "source"));
    }

    [Fact]
    public void Different_tags_never_map_to_the_same_source()
    {
        string[] tags = [.. Tricky.Where(t => t != "*"), "a::b", "a:_b", new string('a', 128) + ":b"];

        string[] sources = tags.Select(HybridCacheKeys.ToSource).ToArray();

        Assert.Equal(tags.Length, sources.Distinct(StringComparer.Ordinal).Count());
        Assert.All(sources, s => KeyPart.ValidateHierarchical(s, "source"));
    }

    [Fact]
    public void Empty_null_and_wildcard_are_rejected_naming_the_argument()
    {
        Assert.Equal("key", Assert.ThrowsAny<ArgumentException>(() => HybridCacheKeys.ToCacheKey(string.Empty)).ParamName);
        Assert.Equal("key", Assert.ThrowsAny<ArgumentException>(() => HybridCacheKeys.ToCacheKey(null!)).ParamName);
        Assert.Equal("tag", Assert.ThrowsAny<ArgumentException>(() => HybridCacheKeys.ToSource(string.Empty)).ParamName);
        Assert.Equal("tag", Assert.ThrowsAny<ArgumentException>(() => HybridCacheKeys.ToSource("*")).ParamName);
    }
}
