using CacheInvalidation.Tests.Infrastructure;

namespace CacheInvalidation.Tests.Hybrid;

/// <summary>
/// The HybridCache contract on two nodes (two service providers, one Redis, one key prefix), written against
/// <see cref="Microsoft.Extensions.Caching.Hybrid.HybridCache"/> only: what a node removes, every other node stops serving —
/// from Redis and from its memory — which Microsoft's implementation does not do for a node that already holds the entry.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class HybridCacheTwoNodeTests(RedisFixture redis)
{
    private static readonly string[] OddKeys =
    [
        "with space", "a:b", "a_b", "a*b", "*", "{tag}", "a{b}c", "[x]", "a?b", "back\\slash", "#hash", "~", "a~b",
        "ünïcödé", "日本語", "emoji 🙂", "line\nbreak", new string('k', 1_000), new string('k', 999) + "l",
    ];

    [Fact]
    public async Task GetOrCreate_on_two_nodes_calls_the_factory_once_per_key()
    {
        await using var nodes = HybridNodes.Start(redis);
        var calls = new FactoryCalls();

        Assert.Equal(1, await calls.GetAsync(nodes.A, "product:1", 1));
        Assert.Equal(2, await calls.GetAsync(nodes.A, "product:2", 2));
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(1, await calls.GetAsync(nodes.B, "product:1", -1));
            Assert.Equal(2, await calls.GetAsync(nodes.B, "product:2", -2));
            Assert.Equal(1, await calls.GetAsync(nodes.A, "product:1", -1));
        }

        Assert.Equal(1, calls["product:1"]);
        Assert.Equal(1, calls["product:2"]);
    }

    [Fact]
    public async Task RemoveByTag_on_one_node_reaches_the_memory_of_the_other_and_spares_entries_without_the_tag()
    {
        await using var nodes = HybridNodes.Start(redis);
        var calls = new FactoryCalls();
        await calls.GetAsync(nodes.A, "view:1", 1, tags: ["product:1", "seller:7"]);
        await calls.GetAsync(nodes.A, "view:2", 2, tags: ["product:2", "seller:7"]);
        await calls.GetAsync(nodes.A, "plain", 3);
        Assert.Equal(1, await calls.GetAsync(nodes.B, "view:1", -1, tags: ["product:1", "seller:7"]));
        Assert.Equal(1, calls["view:1"]); // B's read was a hit
        await nodes.HeldInMemoryAsync(nodes.B, "view:1", 1, tags: ["product:1", "seller:7"]);
        int before = calls["view:1"];

        await nodes.A.RemoveByTagAsync("product:1");

        // B had loaded the entry and its tag, and serves it from memory: A's removal must reach it anyway.
        await Eventually.HoldsAsync(
            async () => await calls.GetAsync(nodes.B, "view:1", 10, tags: ["product:1", "seller:7"]) == 10,
            "node B kept serving the entry whose tag node A removed");
        Assert.Equal(before + 1, calls["view:1"]);
        Assert.Equal(2, await calls.GetAsync(nodes.B, "view:2", -2, tags: ["product:2", "seller:7"]));
        Assert.Equal(3, await calls.GetAsync(nodes.B, "plain", -3));
        Assert.Equal(2, await calls.GetAsync(nodes.A, "view:2", -2, tags: ["product:2", "seller:7"]));
        Assert.Equal(1, calls["view:2"]);
        Assert.Equal(1, calls["plain"]);
    }

    [Fact]
    public async Task RemoveByTag_wildcard_on_one_node_invalidates_every_entry_on_both_nodes()
    {
        await using var nodes = HybridNodes.Start(redis);
        var calls = new FactoryCalls();
        await calls.GetAsync(nodes.A, "tagged", 1, tags: ["product:1"]);
        await calls.GetAsync(nodes.A, "plain", 2);
        await nodes.HeldInMemoryAsync(nodes.B, "plain", 2);
        await calls.GetAsync(nodes.B, "tagged", -1, tags: ["product:1"]);
        int before = calls.Total;

        await nodes.A.RemoveByTagAsync("*");

        // The node that removed sees it at once; the other as soon as the message arrives.
        Assert.Equal(10, await calls.GetAsync(nodes.A, "tagged", 10, tags: ["product:1"]));
        Assert.Equal(20, await calls.GetAsync(nodes.A, "plain", 20));
        await Eventually.HoldsAsync(async () => await calls.GetAsync(nodes.B, "plain", 30) != 2, "node B kept serving an entry after RemoveByTagAsync(\"*\")");
        Assert.Equal(20, await calls.GetAsync(nodes.B, "plain", 30));
        Assert.Equal(10, await calls.GetAsync(nodes.B, "tagged", 30, tags: ["product:1"]));
        Assert.Equal(before + 2, calls.Total);
    }

    [Fact]
    public async Task RemoveByTag_with_several_tags_removes_the_entries_of_each_and_no_other()
    {
        await using var nodes = HybridNodes.Start(redis);
        var calls = new FactoryCalls();
        await calls.GetAsync(nodes.A, "one", 1, tags: ["t:1"]);
        await calls.GetAsync(nodes.A, "two", 2, tags: ["t:2"]);
        await calls.GetAsync(nodes.A, "three", 3, tags: ["t:3"]);

        await nodes.A.RemoveByTagAsync(["t:1", "t:2", "t:1"]); // on the reading node: no wait for a message

        Assert.Equal(10, await calls.GetAsync(nodes.A, "one", 10, tags: ["t:1"]));
        Assert.Equal(20, await calls.GetAsync(nodes.A, "two", 20, tags: ["t:2"]));
        Assert.Equal(3, await calls.GetAsync(nodes.A, "three", 30, tags: ["t:3"]));
        Assert.Equal(5, calls.Total);
    }

    [Fact]
    public async Task RemoveAsync_on_one_node_reaches_the_memory_of_the_other()
    {
        await using var nodes = HybridNodes.Start(redis);
        var calls = new FactoryCalls();
        await calls.GetAsync(nodes.B, "order:1", 1);
        await nodes.HeldInMemoryAsync(nodes.B, "order:1", 1);
        await calls.GetAsync(nodes.B, "order:2", 2);

        await nodes.A.RemoveAsync("order:1");

        await Eventually.HoldsAsync(async () => await calls.GetAsync(nodes.B, "order:1", 10) == 10, "node B kept serving the entry node A removed");
        Assert.Equal(2, await calls.GetAsync(nodes.B, "order:2", -2));
        Assert.Equal(1, calls["order:2"]);
    }

    [Fact]
    public async Task SetAsync_on_one_node_is_read_on_the_other_without_a_factory_call()
    {
        await using var nodes = HybridNodes.Start(redis);
        var calls = new FactoryCalls();
        await nodes.A.SetAsync("fresh", 5);
        await calls.GetAsync(nodes.B, "held", 1);
        await nodes.HeldInMemoryAsync(nodes.B, "held", 1);
        int before = calls["held"];

        await nodes.A.SetAsync("held", 2);

        Assert.Equal(5, await calls.GetAsync(nodes.B, "fresh", -1));
        await Eventually.HoldsAsync(async () => await calls.GetAsync(nodes.B, "held", -1) == 2, "node B kept serving the value node A replaced");
        Assert.Equal(0, calls["fresh"]);
        Assert.Equal(before, calls["held"]); // B's reads of the new value were hits (a factory call would have cached -1)
    }

    [Fact]
    public async Task SetAsync_with_tags_registers_them_as_dependencies()
    {
        await using var nodes = HybridNodes.Start(redis);
        var calls = new FactoryCalls();
        await nodes.A.SetAsync("set", 1, tags: ["product:9"]);
        Assert.Equal(1, await calls.GetAsync(nodes.B, "set", -1));

        await nodes.B.RemoveByTagAsync("product:9");

        Assert.Equal(2, await calls.GetAsync(nodes.A, "set", 2));
        Assert.Equal(1, calls["set"]);
    }

    [Fact]
    public async Task Keys_of_any_text_are_cached_and_never_collide()
    {
        await using var nodes = HybridNodes.Start(redis);
        var calls = new FactoryCalls();
        string[] keys = OddKeys;

        for (int i = 0; i < keys.Length; i++)
        {
            Assert.Equal(i, await calls.GetAsync(nodes.A, keys[i], i));
        }

        for (int i = 0; i < keys.Length; i++)
        {
            Assert.Equal(i, await calls.GetAsync(nodes.B, keys[i], -1));
            Assert.Equal(1, calls[keys[i]]);
        }

        await nodes.A.RemoveAsync("a:b");
        Assert.Equal(42, await calls.GetAsync(nodes.A, "a:b", 42));
        Assert.Equal(Array.IndexOf(keys, "a_b"), await calls.GetAsync(nodes.A, "a_b", -1));
    }
}
