using System.IO.Hashing;
using System.Text;

namespace CacheInvalidation.Keys;

/// <summary>
/// The one key schema: every Redis key the library reads or writes is built here, and every key the scans may touch is
/// recognised here. The tenant's root is <c>prefix:tenant</c>; <c>#</c>, which no key part may contain, ends it, so a
/// pattern anchored at <c>{root#</c> can never reach another prefix's or tenant's keys.
/// <code>
/// {root#s}#v                      global version of shard s (a counter with a TTL)
/// {root#s}:docs:technical#v       version of namespace docs:technical in shard s
/// {root#s}:docs:technical:guide   an entry; its value starts with the version stamp it was computed under
/// {root#s}:docs:technical:guide#l its lease (the token of the load allowed to write it)
/// {root#s}#seq                    shard s's invalidation sequence; {root#s}#inv the (sharded pub/sub) channel it is announced on
/// {root#src:product:42}#d         the dependency index of a source: entry key → token of the load that registered it
/// {root#src:product:42}#d:…       a snapshot of that index being drained by an invalidation
/// {root#src:product:42}#drain     the snapshots of that source still being drained
/// {root#evt:entity}:done:id       an applied event's mark; …:watermark the entity's newest applied version
/// {prefix}:layout                 the prefix's layout (version shards); {prefix}:events, {prefix}:audit its streams
/// {prefix}:kill-switch            the prefix's kill switch: whether aggressive invalidation is suspended, by whom, why
/// </code>
/// An entry and every version it depends on share the hash tag <c>{root#s}</c>, so one atomic script or MGET touches
/// them together on a cluster, while the shards spread entries over the cluster's slots.
/// </summary>
internal sealed class KeyLayout
{
    /// <summary>How many (namespace, shard) scopes a layout keeps built; past that they are rebuilt on use (costing allocations, no Redis work).</summary>
    internal const int MaxCachedScopes = 1 << 17;

    internal const string VersionSuffix = "#v";
    private const string LeaseSuffix = "#l";
    internal const string SequenceSuffix = "#seq";
    private const string ChannelSuffix = "#inv";
    private const string SourceMarker = "#src:";
    private const string EventMarker = "#evt";

    private readonly string _prefix;
    private readonly string _tenant;
    private readonly string _root;
    private readonly int _shards;
    private readonly string[] _tags;
    private readonly string[] _globalVersionKeys;
    private readonly BoundedCache<(string Namespace, int Shard), VersionScope> _scopes = new(MaxCachedScopes);

    public KeyLayout(string prefix, string tenant, int shards)
    {
        KeyPart.ValidateHierarchical(prefix, nameof(prefix));
        KeyPart.Validate(tenant, nameof(tenant));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shards);
        _prefix = prefix;
        _tenant = tenant;
        _root = prefix + ":" + tenant;
        _shards = shards;
        _tags = new string[shards];
        _globalVersionKeys = new string[shards];
        for (int shard = 0; shard < shards; shard++)
        {
            _tags[shard] = $"{{{_root}#{shard}}}";
            _globalVersionKeys[shard] = _tags[shard] + VersionSuffix;
        }
    }

    public int Shards => _shards;

    public string Prefix => _prefix;

    public string Tenant => _tenant;

    /// <summary>The address of an entry: its scope (versions and key start) and its key.</summary>
    /// <exception cref="ArgumentException"><paramref name="key"/> is empty.</exception>
    public EntryAddress Address(CacheKey key)
    {
        ThrowIfEmpty(key);

        VersionScope scope = _scopes.GetOrAdd((key.Namespace, ShardOf(key)), static (k, layout) => layout.CreateScope(k.Namespace, k.Shard), this);
        return new EntryAddress(scope, scope.EntryKeyPrefix + key.Id);
    }

    /// <summary>Rejects the empty (default) key.</summary>
    /// <exception cref="ArgumentException"><paramref name="key"/> is empty.</exception>
    public static void ThrowIfEmpty(CacheKey key)
    {
        if (key.IsEmpty)
        {
            throw new ArgumentException("The cache key is empty; build keys with CacheKey.Create or CacheKey.Entity.", nameof(key));
        }
    }

    /// <summary>The lease of an entry: the entry's key with a suffix no entry key can have (same hash slot).</summary>
    public static string LeaseKeyOf(string entryKey) => entryKey + LeaseSuffix;

    /// <summary>The hash tag of every shard (<c>{root#s}</c>), in shard order.</summary>
    public IReadOnlyList<string> ShardTags() => _tags;

    /// <summary>The hash tag (<c>{…}</c>) a key of a shard starts with: of an entry, lease, version or sequence key.</summary>
    public static string TagOf(string shardKey) => shardKey[..(shardKey.IndexOf('}', StringComparison.Ordinal) + 1)];

    /// <summary>The invalidation sequence of the shard whose hash tag is <paramref name="tag"/>.</summary>
    public static string SequenceKeyOfTag(string tag) => tag + SequenceSuffix;

    /// <summary>The channel the invalidations of the shard whose hash tag is <paramref name="tag"/> are announced on.</summary>
    public static string ChannelOfTag(string tag) => tag + ChannelSuffix;

    /// <summary>The hash tag of the shard whose channel is <paramref name="channel"/>; null for another channel.</summary>
    public static string? TagOfChannel(string channel) =>
        channel.EndsWith("}" + ChannelSuffix, StringComparison.Ordinal) ? channel[..^ChannelSuffix.Length] : null;

    /// <summary>
    /// The namespace and id of an entry key of the shard whose tag is <paramref name="tag"/> (ids have no ':'); false for
    /// any other key.
    /// </summary>
    public static bool TryParseEntryKey(string entryKey, string tag, out string @namespace, out string id)
    {
        @namespace = id = string.Empty;
        if (!entryKey.StartsWith(tag, StringComparison.Ordinal) || entryKey.Length <= tag.Length + 1 || entryKey[tag.Length] != ':'
            || entryKey.IndexOf('#', tag.Length) >= 0)
        {
            return false;
        }

        int lastColon = entryKey.LastIndexOf(':');
        id = entryKey[(lastColon + 1)..];
        @namespace = lastColon > tag.Length ? entryKey[(tag.Length + 1)..lastColon] : string.Empty;
        return id.Length > 0;
    }

    /// <summary>The global version key of every shard.</summary>
    public IReadOnlyList<string> GlobalVersionKeys() => _globalVersionKeys;

    /// <summary>The version key of <paramref name="namespace"/> in every shard.</summary>
    /// <exception cref="ArgumentException"><paramref name="namespace"/> is not a valid hierarchical name; named <paramref name="paramName"/>.</exception>
    public string[] NamespaceVersionKeys(string @namespace, string paramName)
    {
        KeyPart.ValidateHierarchical(@namespace, paramName);
        var keys = new string[_shards];
        for (int shard = 0; shard < _shards; shard++)
        {
            keys[shard] = $"{_tags[shard]}:{@namespace}{VersionSuffix}";
        }

        return keys;
    }

    /// <summary>The keys of a source's dependency index (<c>product:42</c>), under a hash tag of its own.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is not a valid hierarchical name.</exception>
    public SourceKeys Source(string source)
    {
        KeyPart.ValidateHierarchical(source, nameof(source));
        return SourceKeys.OfTag($"{{{_root}{SourceMarker}{source}}}");
    }

    /// <summary>
    /// The SCAN pattern of the entries of <paramref name="namespace"/> and the namespaces under it, in every shard of
    /// this tenant. It may also match leases and child version keys; <see cref="IsEntryInNamespace"/> says which match.
    /// </summary>
    public string NamespacePattern(string @namespace, string paramName)
    {
        KeyPart.ValidateHierarchical(@namespace, paramName);
        return $"{{{_root}#[0-9]*}}:{@namespace}:*";
    }

    /// <summary>Whether <paramref name="key"/> is an entry (not a lease or version) of <paramref name="namespace"/> or a namespace under it, in one of this tenant's shards.</summary>
    public bool IsEntryInNamespace(string key, string @namespace)
    {
        int afterTag = AfterShardTag(key);
        return afterTag > 0
            && key.Length > afterTag + @namespace.Length + 2
            && key[afterTag] == ':'
            && string.CompareOrdinal(key, afterTag + 1, @namespace, 0, @namespace.Length) == 0
            && key[afterTag + 1 + @namespace.Length] == ':'
            && key.IndexOf('#', afterTag) < 0;
    }

    /// <summary>The SCAN pattern of every key of this tenant.</summary>
    public string TenantPattern() => "{" + _root + "#*";

    /// <summary>Whether <paramref name="key"/> belongs to this tenant (the pattern is exact already; this is the same rule, for the scan's own check).</summary>
    public bool IsTenantKey(string key) => key.Length > _root.Length + 2 && key[0] == '{' && string.CompareOrdinal(key, 1, _root, 0, _root.Length) == 0 && key[_root.Length + 1] == '#';

    /// <summary>The keys of the source whose index, snapshot or drain list <paramref name="key"/> is; null for any other key.</summary>
    public static SourceKeys? SourceKeysOf(string key)
    {
        int rootEnd = key.IndexOf('#', StringComparison.Ordinal);
        int tagEnd = key.IndexOf('}', StringComparison.Ordinal);
        return key.StartsWith('{') && rootEnd > 0 && rootEnd < tagEnd && string.CompareOrdinal(key, rootEnd, SourceMarker, 0, SourceMarker.Length) == 0
            ? SourceKeys.OfTag(key[..(tagEnd + 1)])
            : null;
    }

    /// <summary>The done-mark of event <paramref name="eventId"/> and, for an event about an entity, that entity's watermark — one hash tag.</summary>
    public string[] EventMarkKeys(string? entity, string eventId)
    {
        string tag = entity is { Length: > 0 } ? $"{{{_root}{EventMarker}:{entity}}}" : $"{{{_root}{EventMarker}}}";
        return entity is { Length: > 0 } ? [$"{tag}:done:{eventId}", $"{tag}:watermark"] : [$"{tag}:done:{eventId}"];
    }

    /// <summary>The global version key of the shard whose hash tag is <paramref name="tag"/>.</summary>
    public static string GlobalVersionKeyOfTag(string tag) => tag + VersionSuffix;

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

    /// <summary>
    /// The SCAN pattern of every entry of this tenant, in every shard and namespace. It also matches leases and namespace
    /// version keys; <see cref="ScopeOfEntryKey"/> says which keys are entries.
    /// </summary>
    public string EntryPattern() => $"{{{_root}#[0-9]*}}:*";

    /// <summary>
    /// The version scope of <paramref name="key"/> when it is an entry of one of this tenant's shards (not a lease, version,
    /// sequence or index key, nor another tenant's key); null otherwise. The scope is that of the key's own shard tag, so
    /// the versions an orphan check reads always share the entry's hash slot.
    /// </summary>
    public VersionScope? ScopeOfEntryKey(string key)
    {
        int afterTag = AfterShardTag(key);
        if (afterTag == 0 || !TryParseEntryKey(key, key[..afterTag], out string @namespace, out _))
        {
            return null;
        }

        int shard = int.Parse(key.AsSpan(_root.Length + 2, afterTag - _root.Length - 3), provider: null);
        return _scopes.GetOrAdd((@namespace, shard), static (k, layout) => layout.CreateScope(k.Namespace, k.Shard), this);
    }

    /// <summary>The index just after one of this tenant's shard tags at the start of <paramref name="key"/>, or 0.</summary>
    private int AfterShardTag(string key)
    {
        if (!IsTenantKey(key))
        {
            return 0;
        }

        int digits = _root.Length + 2;
        int close = key.IndexOf('}', digits);
        return close > digits && close - digits <= 4
            && key.AsSpan(digits, close - digits).IndexOfAnyExceptInRange('0', '9') < 0
            && int.Parse(key.AsSpan(digits, close - digits), provider: null) < _shards
            ? close + 1
            : 0;
    }

    private VersionScope CreateScope(string @namespace, int shard)
    {
        string tag = _tags[shard];
        if (@namespace.Length == 0)
        {
            return new VersionScope([_globalVersionKeys[shard]], tag + ":");
        }

        string[] segments = @namespace.Split(':');
        var versionKeys = new string[segments.Length + 1];
        versionKeys[0] = _globalVersionKeys[shard];
        for (int level = 1; level <= segments.Length; level++)
        {
            versionKeys[level] = $"{tag}:{string.Join(':', segments, 0, level)}{VersionSuffix}";
        }

        return new VersionScope(versionKeys, $"{tag}:{@namespace}:");
    }
}
