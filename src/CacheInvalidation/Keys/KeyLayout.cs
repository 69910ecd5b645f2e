using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Text;

namespace CacheInvalidation.Keys;

/// <summary>
/// Builds every Redis key the library uses, deterministically:
/// <c>{prefix:tenant:shard}:namespace…:v{stamp}:id</c> for entries, <c>{prefix:tenant:shard}#v</c> for the global version
/// and <c>{prefix:tenant:shard}:namespace#v</c> for a namespace version.
/// </summary>
/// <remarks>
/// A hit must resolve the versions and read the entry in one script, and a script may only touch one hash slot on a
/// cluster. So each version is kept once per shard, and an entry lives in the shard its key hashes to: the versions it
/// depends on are always co-located with it, while the shards spread entries over the cluster's nodes. A version
/// bump therefore touches one key per shard. <c>#</c> cannot occur in a key part, so a version key never collides
/// with an entry key.
/// </remarks>
internal sealed class KeyLayout
{
    private const int MaxCachedScopes = 10_000;
    private readonly string _prefix;
    private readonly string _tenant;
    private readonly int _shards;
    private readonly ConcurrentDictionary<(string Namespace, int Shard), VersionScope> _scopes = new();
    private readonly string[] _globalVersionKeys;

    public KeyLayout(string prefix, string tenant, int shards)
    {
        KeyPart.ValidateHierarchical(prefix, nameof(prefix));
        KeyPart.Validate(tenant, nameof(tenant));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shards);
        _prefix = prefix;
        _tenant = tenant;
        _shards = shards;
        _globalVersionKeys = new string[shards];
        for (int shard = 0; shard < shards; shard++)
        {
            _globalVersionKeys[shard] = HashTag(shard) + "#v";
        }
    }

    public int Shards => _shards;

    public string Prefix => _prefix;

    public string Tenant => _tenant;

    /// <summary>The address of an entry: its shard's version scope and its id suffix.</summary>
    public EntryAddress Address(CacheKey key)
    {
        if (key.IsEmpty)
        {
            throw new ArgumentException("The cache key is empty; build keys with CacheKey.Create or CacheKey.Entity.", nameof(key));
        }

        return new EntryAddress(Scope(key.Namespace, ShardOf(key)), ":" + key.Id);
    }

    /// <summary>The global version key of every shard.</summary>
    public IReadOnlyList<string> GlobalVersionKeys() => _globalVersionKeys;

    /// <summary>The version key of <paramref name="namespace"/> in every shard.</summary>
    public string[] NamespaceVersionKeys(string @namespace)
    {
        KeyPart.ValidateHierarchical(@namespace, nameof(@namespace));
        var keys = new string[_shards];
        for (int shard = 0; shard < _shards; shard++)
        {
            keys[shard] = $"{HashTag(shard)}:{@namespace}#v";
        }

        return keys;
    }

    /// <summary>
    /// The reverse index of a source (<c>product:42</c>): the set of entry keys derived from it. It has a hash tag of its
    /// own, so the indexes of many sources spread over a cluster.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is empty or not a valid hierarchical name.</exception>
    public string SourceIndexKey(string source)
    {
        KeyPart.ValidateHierarchical(source, nameof(source));
        return $"{{{_prefix}:{_tenant}:src:{source}}}#d";
    }

    /// <summary>
    /// The SCAN pattern of every entry and lease of <paramref name="namespace"/> and the namespaces under it, in every
    /// shard of this tenant. Key parts cannot hold glob characters, so the only wildcards are the ones written here.
    /// </summary>
    public string NamespacePattern(string @namespace)
    {
        KeyPart.ValidateHierarchical(@namespace, nameof(@namespace));
        return $"{{{_prefix}:{_tenant}:[0-9]*}}:{@namespace}:*";
    }

    /// <summary>The SCAN patterns of every key of this tenant: entries, versions, leases and source indexes.</summary>
    public string[] TenantPatterns() => [$"{{{_prefix}:{_tenant}:[0-9]*", $"{{{_prefix}:{_tenant}:src:*"];

    /// <summary>The SCAN pattern of every key under a prefix, all tenants.</summary>
    public static string PrefixPattern(string prefix)
    {
        KeyPart.ValidateHierarchical(prefix, nameof(prefix));
        return $"{{{prefix}:*";
    }

    /// <summary>The default invalidation event stream of a prefix; outside every tenant's keys.</summary>
    public static string EventStreamKey(string prefix) => $"{{{prefix}}}:events";

    /// <summary>The audit stream of a prefix; outside every tenant's keys so that no purge can remove it.</summary>
    public static string AuditStreamKey(string prefix) => $"{{{prefix}}}:audit";

    /// <summary>The shard of a key: a stable hash of namespace and id, the same in every process.</summary>
    public int ShardOf(CacheKey key)
    {
        if (_shards == 1)
        {
            return 0;
        }

        int length = Encoding.UTF8.GetByteCount(key.Namespace) + 1 + Encoding.UTF8.GetByteCount(key.Id);
        Span<byte> buffer = length <= 512 ? stackalloc byte[length] : new byte[length];
        int written = Encoding.UTF8.GetBytes(key.Namespace, buffer);
        buffer[written++] = (byte)'/';
        Encoding.UTF8.GetBytes(key.Id, buffer[written..]);
        return (int)(XxHash32.HashToUInt32(buffer) % (uint)_shards);
    }

    private VersionScope Scope(string @namespace, int shard)
    {
        if (_scopes.TryGetValue((@namespace, shard), out VersionScope? scope))
        {
            return scope;
        }

        scope = CreateScope(@namespace, shard);
        if (_scopes.Count < MaxCachedScopes)
        {
            _scopes.TryAdd((@namespace, shard), scope);
        }

        return scope;
    }

    private VersionScope CreateScope(string @namespace, int shard)
    {
        string tag = HashTag(shard);
        if (@namespace.Length == 0)
        {
            return new VersionScope(tag, [tag + "#v"], tag + ":v");
        }

        string[] segments = @namespace.Split(':');
        var versionKeys = new string[segments.Length + 1];
        versionKeys[0] = tag + "#v";
        for (int level = 1; level <= segments.Length; level++)
        {
            versionKeys[level] = $"{tag}:{string.Join(':', segments, 0, level)}#v";
        }

        return new VersionScope(tag, versionKeys, $"{tag}:{@namespace}:v");
    }

    private string HashTag(int shard) => $"{{{_prefix}:{_tenant}:{shard}}}";
}
