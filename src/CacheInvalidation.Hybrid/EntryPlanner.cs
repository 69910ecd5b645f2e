using System.Runtime.CompilerServices;
using CacheInvalidation.Policy;
using Microsoft.Extensions.Caching.Hybrid;

namespace CacheInvalidation.Hybrid;

/// <summary>What a HybridCache call does with the cache, given its flags.</summary>
internal enum EntryMode
{
    /// <summary>Read through the cache: a hit, or one factory call per key across nodes and a leased write.</summary>
    ReadThrough,

    /// <summary>Read the cache; on a miss call the factory and write nothing (distributed writes disabled).</summary>
    ReadOnly,

    /// <summary>Call the factory and touch no cache (distributed reads disabled).</summary>
    FactoryOnly,

    /// <summary>Read the cache; on a miss return the default value (the underlying data disabled).</summary>
    CacheOnly,

    /// <summary>Read nothing and call nothing: the default value (both distributed reads and the underlying data disabled).</summary>
    DefaultOnly,
}

/// <summary>A call's mode and, when it reaches the cache, the core entry options it maps to.</summary>
internal readonly record struct EntryPlan(EntryMode Mode, CacheEntryOptions Options, bool Writes);

/// <summary>
/// Maps HybridCache entry options, flags and tags to the core's <see cref="CacheEntryOptions"/> and to what a call does.
/// The core options of a call without tags are built once per <see cref="HybridCacheEntryOptions"/> instance (the type is
/// immutable), so the usual shape — a static options object, no tags — allocates nothing here.
/// </summary>
internal sealed class EntryPlanner
{
    private readonly HybridCacheEntryOptions? _defaults;
    private readonly DataClass? _dataClass;
    private readonly EntryPlan _defaultPlan;
    private readonly ConditionalWeakTable<HybridCacheEntryOptions, StrongBox<EntryPlan>> _plans = new();
    private readonly ConditionalWeakTable<HybridCacheEntryOptions, StrongBox<EntryPlan>>.CreateValueCallback _buildPlan;

    public EntryPlanner(SmartHybridCacheOptions options)
    {
        _defaults = options.DefaultEntryOptions;
        _dataClass = options.DataClass;
        _defaultPlan = Build(null, null);
        _buildPlan = o => new StrongBox<EntryPlan>(Build(o, null)); // once: a lambda over this, made per call, would allocate per call
    }

    /// <summary>The plan of a call with <paramref name="options"/> (null: the defaults) and <paramref name="tags"/>.</summary>
    /// <exception cref="ArgumentException">A tag is null, empty or the wildcard <c>*</c>.</exception>
    public EntryPlan Plan(HybridCacheEntryOptions? options, IEnumerable<string>? tags)
    {
        string[]? sources = Sources(tags);
        if (sources is not null)
        {
            return Build(options, sources);
        }

        if (options is null)
        {
            return _defaultPlan;
        }

        return (_plans.TryGetValue(options, out StrongBox<EntryPlan>? plan) ? plan : _plans.GetValue(options, _buildPlan)).Value;
    }

    private EntryPlan Build(HybridCacheEntryOptions? options, string[]? sources)
    {
        HybridCacheEntryFlags flags = options?.Flags ?? _defaults?.Flags ?? HybridCacheEntryFlags.None;
        TimeSpan? expiration = options?.Expiration ?? _defaults?.Expiration;

        // A zero or negative expiration means "do not keep this": the entry is read if present but never written.
        bool writes = (flags & HybridCacheEntryFlags.DisableDistributedCacheWrite) == 0 && expiration is not { Ticks: <= 0 };
        bool reads = (flags & HybridCacheEntryFlags.DisableDistributedCacheRead) == 0;
        bool loads = (flags & HybridCacheEntryFlags.DisableUnderlyingData) == 0;
        EntryMode mode = (reads, writes, loads) switch
        {
            (false, _, false) => EntryMode.DefaultOnly,
            (true, _, false) => EntryMode.CacheOnly,
            (false, _, true) => EntryMode.FactoryOnly,
            (true, false, true) => EntryMode.ReadOnly,
            (true, true, true) => EntryMode.ReadThrough,
        };

        var entry = new CacheEntryOptions
        {
            DataClass = _dataClass,
            Ttl = expiration is { Ticks: > 0 } ttl ? ttl : null,
            DependsOn = sources,
        };
        return new EntryPlan(mode, entry, writes);
    }

    private static string[]? Sources(IEnumerable<string>? tags)
    {
        switch (tags)
        {
            case null:
                return null;
            case IReadOnlyList<string> { Count: 1 } one:
                return [HybridCacheKeys.ToSource(one[0], nameof(tags))];
        }

        // Distinct: a repeated tag is one dependency, not two registrations of the same source.
        var sources = new HashSet<string>(StringComparer.Ordinal);
        foreach (string tag in tags)
        {
            sources.Add(HybridCacheKeys.ToSource(tag, nameof(tags)));
        }

        return sources.Count == 0 ? null : [.. sources];
    }
}
