using CacheInvalidation.Keys;

namespace CacheInvalidation.Tests.Keys;

public sealed class CacheKeyTests
{
    [Fact]
    public void Entity_key_is_namespace_and_id()
    {
        CacheKey key = CacheKey.Entity("product-view", 42);

        Assert.Equal("product-view", key.Namespace);
        Assert.Equal("42", key.Id);
        Assert.Equal(CacheKey.Create("product-view", "42"), key);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Empty_id_is_rejected_naming_the_argument(string? id)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => CacheKey.Create(id!));
        Assert.Equal("id", ex.ParamName);
    }

    [Theory]
    [InlineData("a:b")]
    [InlineData("*")]
    [InlineData("user?")]
    [InlineData("x[0]")]
    [InlineData("{tag}")]
    [InlineData("back\\slash")]
    [InlineData("with space")]
    [InlineData("new\nline")]
    [InlineData("hash#v")]
    [InlineData("ümlaut")]
    public void Separators_globs_and_hash_tags_in_an_id_are_rejected(string id)
    {
        var ex = Assert.Throws<ArgumentException>(() => CacheKey.Create("ns", id));
        Assert.Equal("id", ex.ParamName);
    }

    [Theory]
    [InlineData("*")]
    [InlineData("docs:*")]
    [InlineData("docs::technical")]
    [InlineData(":docs")]
    [InlineData("docs:")]
    [InlineData("a:b:c:d:e:f:g:h:i")]
    public void Bad_namespaces_are_rejected_naming_the_argument(string @namespace)
    {
        var ex = Assert.Throws<ArgumentException>(() => CacheKey.Create(@namespace, "1"));
        Assert.Equal("namespace", ex.ParamName);
    }

    [Fact]
    public void Over_long_part_is_rejected()
    {
        string id = new('a', KeyPart.MaxLength + 1);

        var ex = Assert.Throws<ArgumentException>(() => CacheKey.Create(id));
        Assert.Equal("id", ex.ParamName);
        CacheKey.Create(new string('a', KeyPart.MaxLength)); // the limit itself is fine
    }

    [Fact]
    public void Hierarchical_namespace_is_accepted()
    {
        CacheKey key = CacheKey.Create("docs:technical", "install-guide");

        Assert.Equal("docs:technical", key.Namespace);
    }

    [Fact]
    public void Free_text_is_hashed_deterministically_with_sha256()
    {
        CacheKey a = CacheKey.FromText("search", "red shoes * size:42 [sale]");
        CacheKey b = CacheKey.FromText("search", "red shoes * size:42 [sale]");
        CacheKey c = CacheKey.FromText("search", "red shoes");

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal(64, a.Id.Length);
        Assert.Matches("^[0-9a-f]{64}$", a.Id);
        // SHA-256("abc"), the FIPS 180-2 test vector.
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", CacheKey.HashText("abc"));
    }

    [Fact]
    public void Entity_keys_from_guids_and_strings_are_validated_ids()
    {
        var id = new Guid("0f8fad5b-d9cb-469f-a165-70867728950e");

        Assert.Equal("0f8fad5bd9cb469fa16570867728950e", CacheKey.Entity("user", id).Id);
        Assert.Equal("sku-7", CacheKey.Entity("product", "sku-7").Id);
        Assert.Equal("id", Assert.Throws<ArgumentException>(() => CacheKey.Entity("product", "sku 7")).ParamName);
    }

    [Fact]
    public void Bad_entity_type_is_reported_under_the_name_the_caller_wrote()
    {
        Assert.Equal("entityType", Assert.Throws<ArgumentException>(() => CacheKey.Entity("product view", 1)).ParamName);
        Assert.Equal("entityType", Assert.Throws<ArgumentException>(() => CacheKey.Entity("*", Guid.Empty)).ParamName);
        Assert.Equal("entityType", Assert.Throws<ArgumentException>(() => CacheKey.Entity("", "sku-7")).ParamName);
    }

    [Fact]
    public void Default_key_is_empty()
    {
        Assert.True(default(CacheKey).IsEmpty);
        Assert.False(CacheKey.Create("x").IsEmpty);
    }
}
