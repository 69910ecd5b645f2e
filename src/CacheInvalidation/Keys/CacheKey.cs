using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CacheInvalidation.Keys;

/// <summary>
/// A logical cache key: an optional hierarchical namespace (<c>docs:technical</c>) and an id. Built only through the
/// factory methods, which validate every part, so a key can never smuggle in a separator or a glob pattern.
/// The Redis key (tenant, version, hash tag) is derived from it by the library.
/// </summary>
public readonly struct CacheKey : IEquatable<CacheKey>
{
    private CacheKey(string @namespace, string id)
    {
        Namespace = @namespace;
        Id = id;
    }

    /// <summary>The namespace, <c>:</c>-separated, outermost first; empty for a key without namespace.</summary>
    public string Namespace { get; }

    /// <summary>The id inside the namespace.</summary>
    public string Id { get; }

    /// <summary>True for <c>default(CacheKey)</c>, which no API accepts.</summary>
    public bool IsEmpty => Id is null;

    /// <summary>A key without namespace.</summary>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty or contains a character that is not allowed.</exception>
    public static CacheKey Create(string id) => new(string.Empty, KeyPart.Validate(id, nameof(id)));

    /// <summary>A key in a (possibly hierarchical) namespace, e.g. <c>Create("docs:technical", "install-guide")</c>.</summary>
    /// <exception cref="ArgumentException">A part is empty, too long, too deep or contains a character that is not allowed.</exception>
    public static CacheKey Create(string @namespace, string id) => Create(@namespace, nameof(@namespace), id);

    /// <summary>A key for an entity or a view of it, e.g. <c>Entity("product-view", 42)</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="entityType"/> is not a valid namespace.</exception>
    public static CacheKey Entity(string entityType, long id) =>
        Create(entityType, nameof(entityType), id.ToString(CultureInfo.InvariantCulture));

    /// <summary>A key for an entity identified by a <see cref="Guid"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="entityType"/> is not a valid namespace.</exception>
    public static CacheKey Entity(string entityType, Guid id) => Create(entityType, nameof(entityType), id.ToString("N"));

    /// <summary>A key for an entity identified by a string id (validated like any key part).</summary>
    /// <exception cref="ArgumentException"><paramref name="entityType"/> or <paramref name="id"/> is not valid.</exception>
    public static CacheKey Entity(string entityType, string id) => Create(entityType, nameof(entityType), id);

    /// <summary>
    /// A key for free text (a query, a URL): the text is hashed with SHA-256 (hex), so any input yields a short,
    /// safe, deterministic id.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public static CacheKey FromText(string @namespace, string text)
    {
        KeyPart.ValidateHierarchical(@namespace, nameof(@namespace));
        ArgumentNullException.ThrowIfNull(text);
        return new(@namespace, HashText(text));
    }

    private static CacheKey Create(string @namespace, string namespaceParameter, string id)
    {
        KeyPart.ValidateHierarchical(@namespace, namespaceParameter);
        return new(@namespace, KeyPart.Validate(id, nameof(id)));
    }

    /// <summary>The SHA-256 of the UTF-8 text as lower-case hex (64 characters).</summary>
    public static string HashText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();
    }

    /// <inheritdoc/>
    public bool Equals(CacheKey other) =>
        string.Equals(Namespace, other.Namespace, StringComparison.Ordinal) && string.Equals(Id, other.Id, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is CacheKey other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Namespace, Id);

    /// <summary>The key as <c>namespace/id</c> (or <c>id</c>), for logs.</summary>
    public override string ToString() => IsEmpty ? "(empty)" : Namespace.Length == 0 ? Id : $"{Namespace}/{Id}";

    /// <summary>Compares two keys by namespace and id.</summary>
    public static bool operator ==(CacheKey left, CacheKey right) => left.Equals(right);

    /// <summary>Compares two keys by namespace and id.</summary>
    public static bool operator !=(CacheKey left, CacheKey right) => !left.Equals(right);
}
