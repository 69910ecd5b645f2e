using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using CacheInvalidation.Strategies;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CacheInvalidation;

/// <summary>
/// The cache facade: reads through Redis (a hit is one atomic read of the entry and its versions), writes with the TTL
/// of the entry's policy plus jitter, and invalidates by key, source, namespace or version. Every invalidation voids
/// what it concerns atomically before it frees memory, and every write checks that nothing voided it, so a value
/// computed before an invalidation is never written after it. Concurrent misses of a key share one factory call — in
/// the process by coalescing, across processes by a lease in Redis. Thread-safe; use one instance per application
/// (registered by <c>AddSmartCache</c>).
/// </summary>
public sealed class SmartCache : ISmartCache, IDisposable
{
    private const int MaxCachedTenants = 10_000;

    private readonly SmartCacheOptions _options;
    private readonly KeyLayout _defaultLayout;
    private readonly BoundedCache<string, KeyLayout> _tenantLayouts = new(MaxCachedTenants);
    private readonly ITenantAccessor? _tenantAccessor;
    private readonly AsyncLocal<string?> _tenantOverride = new();
    private readonly ICacheStore _store;
    private readonly TtlStrategy _ttl;
    private readonly VersionTagStrategy _versions;
    private readonly DependencySetStrategy _dependencies;
    private readonly NamespaceScanStrategy _namespaces;
    private readonly ReadThrough _readThrough;
    private readonly DirectSet _directSet;
    private readonly LayoutGuard _layoutGuard;
    private readonly ILogger _logger;
    private readonly IDisposable? _ownedConnection;

    /// <summary>Creates a cache that connects (lazily) with <see cref="SmartCacheOptions.Configuration"/> and owns that connection.</summary>
    /// <param name="options">The options; validated here.</param>
    /// <param name="logger">Receives the degraded-path messages; none when null.</param>
    /// <param name="timeProvider">The clock; the system clock when null.</param>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names each bad option.</exception>
    public SmartCache(IOptions<SmartCacheOptions> options, ILogger<SmartCache>? logger = null, TimeProvider? timeProvider = null)
        : this(
            Validated(options),
            RedisConnection.FromConfiguration(options.Value.Configuration!, new StoreResilience(options.Value.Resilience, timeProvider, logger)),
            ownsConnection: true,
            logger,
            timeProvider)
    {
    }

    internal SmartCache(SmartCacheOptions options, RedisConnection connection, bool ownsConnection, ILogger? logger, TimeProvider? timeProvider, ITenantAccessor? tenantAccessor = null)
        : this(options, CacheStores.ForRedis(connection, options.LeaseTime), ownsConnection ? connection : null, logger, timeProvider, tenantAccessor)
    {
    }

    /// <summary>The cache over any stores: tests wrap the Redis stores to inject faults and pauses.</summary>
    internal SmartCache(
        SmartCacheOptions options,
        CacheStores stores,
        IDisposable? ownedConnection,
        ILogger? logger,
        TimeProvider? timeProvider,
        ITenantAccessor? tenantAccessor)
    {
        TimeProvider time = timeProvider ?? TimeProvider.System;
        _options = options;
        _defaultLayout = new KeyLayout(options.KeyPrefix, options.Tenant, options.VersionShards);
        _tenantAccessor = tenantAccessor;
        _store = stores.Store;
        _logger = logger ?? NullLogger.Instance;
        _ttl = new TtlStrategy(options, time);
        _versions = new VersionTagStrategy(stores.Store);
        _dependencies = new DependencySetStrategy(stores.Indexes, _logger);
        _namespaces = new NamespaceScanStrategy(_versions, stores.Keyspace, time);
        _layoutGuard = new LayoutGuard(stores.Store, options.KeyPrefix, options.VersionShards);
        _readThrough = new ReadThrough(
            stores.ReadStore,
            new DependencySetStrategy(stores.ReadIndexes, _logger),
            new EntryCodec(options.Serializer, time, _logger),
            _layoutGuard,
            time,
            _logger,
            options.LeaseTime,
            options.EarlyRefreshBeta);
        _directSet = new DirectSet(stores.Store, _dependencies, new EntryCodec(options.Serializer, time, _logger), _logger, options.LeaseTime);
        _ownedConnection = ownedConnection;
    }

    /// <summary>The key layout of the configured tenant.</summary>
    internal KeyLayout Layout => _defaultLayout;

    /// <inheritdoc/>
    public ValueTask<T> GetOrSetAsync<T>(CacheKey key, Func<CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return GetOrSetAsync(key, factory, static (f, ct) => f(ct), options, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask<T> GetOrSetAsync<TState, T>(CacheKey key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        KeyLayout layout = CurrentLayout();
        EntryAddress address = layout.Address(key);
        ArgumentNullException.ThrowIfNull(factory);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<T>(cancellationToken);
        }

        TtlDecision decision = _ttl.Decide(options);
        if (!decision.Cache)
        {
            CacheMetrics.Request("bypass");
            return factory(state, cancellationToken);
        }

        return new ValueTask<T>(_readThrough.GetOrSetAsync(key, address, state, factory, decision, SourceIndexKeys(layout, options, decision), cancellationToken));
    }

    /// <inheritdoc/>
    public async ValueTask<CacheResult<T>> GetAsync<T>(CacheKey key, CancellationToken cancellationToken = default)
    {
        EntryAddress address = CurrentLayout().Address(key);
        cancellationToken.ThrowIfCancellationRequested();
        return await _readThrough.GetAsync<T>(key, address, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask SetAsync<T>(CacheKey key, T value, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        KeyLayout layout = CurrentLayout();
        EntryAddress address = layout.Address(key);
        cancellationToken.ThrowIfCancellationRequested();
        TtlDecision decision = _ttl.Decide(options);
        if (!decision.Cache)
        {
            return;
        }

        string[]? indexKeys = SourceIndexKeys(layout, options, decision);
        try
        {
            await _layoutGuard.ThrowIfMismatchedAsync(cancellationToken).ConfigureAwait(false);
            bool written = await _directSet.SetAsync(key, address, value, decision, indexKeys, cancellationToken).ConfigureAwait(false);
            _readThrough.Detach(address.EntryKey);
            CacheMetrics.Write(written ? "written" : "refused");
        }
        catch (CacheStoreException ex)
        {
            CacheMetrics.Write("error");
            CacheMetrics.StoreError("write");
            Log.WriteFailed(_logger, key.ToString(), ex);
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask<bool> InvalidateKeyAsync(CacheKey key, CancellationToken cancellationToken = default)
    {
        EntryAddress address = CurrentLayout().Address(key);
        cancellationToken.ThrowIfCancellationRequested();
        return await InvalidateAsync("key", key.ToString(), () => _store.DeleteAsync(address, cancellationToken), cancellationToken, address.EntryKey).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public ValueTask<bool> RemoveAsync(CacheKey key, CancellationToken cancellationToken = default) =>
        InvalidateKeyAsync(key, cancellationToken);

    /// <inheritdoc/>
    public async ValueTask InvalidateAllAsync(CancellationToken cancellationToken = default)
    {
        KeyLayout layout = CurrentLayout();
        cancellationToken.ThrowIfCancellationRequested();
        await InvalidateAsync("all", layout.Tenant, () => _versions.BumpGlobalAsync(layout, cancellationToken), cancellationToken).ConfigureAwait(false);
        Log.InvalidatedAll(_logger, layout.Tenant, layout.Shards);
    }

    /// <inheritdoc/>
    public async ValueTask<long> InvalidateSourceAsync(string source, CancellationToken cancellationToken = default)
    {
        SourceKeys keys = CurrentLayout().Source(source);
        cancellationToken.ThrowIfCancellationRequested();
        return await InvalidateAsync("source", source, () => _dependencies.InvalidateAsync(keys, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<long> InvalidateSourcesAsync(IEnumerable<string> sources, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sources);
        KeyLayout layout = CurrentLayout();
        SourceKeys[] keys = sources.Distinct(StringComparer.Ordinal).Select(s => layout.Source(s)).ToArray();
        cancellationToken.ThrowIfCancellationRequested();
        return await InvalidateAsync("source", string.Join(", ", keys.Select(k => k.Index)), () => _dependencies.InvalidateAsync(keys, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<NamespaceInvalidationReport> InvalidateNamespaceAsync(
        string namespaceName,
        NamespaceInvalidationOptions? options = null,
        IProgress<NamespaceInvalidationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        KeyLayout layout = CurrentLayout();
        KeyPart.ValidateHierarchical(namespaceName, nameof(namespaceName));
        cancellationToken.ThrowIfCancellationRequested();
        return await InvalidateAsync(
            "namespace",
            namespaceName,
            () => _namespaces.InvalidateAsync(layout, namespaceName, nameof(namespaceName), options ?? new NamespaceInvalidationOptions(), progress, cancellationToken),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask InvalidateNamespaceVersionAsync(string namespaceName, CancellationToken cancellationToken = default)
    {
        KeyLayout layout = CurrentLayout();
        KeyPart.ValidateHierarchical(namespaceName, nameof(namespaceName));
        cancellationToken.ThrowIfCancellationRequested();
        await InvalidateAsync("namespace", namespaceName, () => _versions.BumpNamespaceAsync(layout, namespaceName, nameof(namespaceName), cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A whole pruning pass over a source's index: removes members whose entry and lease are gone.</summary>
    internal Task<long> PruneSourceIndexAsync(string source, CancellationToken cancellationToken = default) =>
        _dependencies.PruneAsync(CurrentLayout().Source(source).Index, cancellationToken);

    /// <summary>Makes callers from now on start new loads instead of joining those in flight (after a purge made elsewhere).</summary>
    internal void DetachLoads() => _readThrough.DetachAll();

    /// <summary>Closes the Redis connection if this cache created it.</summary>
    public void Dispose() => _ownedConnection?.Dispose();

    /// <summary>Scopes the calls of the current async flow to <paramref name="tenant"/> (an event's tenant); null keeps the usual one.</summary>
    internal IDisposable UseTenant(string? tenant)
    {
        string? previous = _tenantOverride.Value;
        _tenantOverride.Value = tenant ?? previous;
        return new TenantRestore(_tenantOverride, previous);
    }

    /// <summary>The key layout of <paramref name="tenant"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="tenant"/> is not a valid key part.</exception>
    internal KeyLayout LayoutFor(string tenant) =>
        tenant == _defaultLayout.Tenant
            ? _defaultLayout
            : _tenantLayouts.GetOrAdd(tenant, static (t, options) => new KeyLayout(options.KeyPrefix, KeyPart.Validate(t, nameof(tenant)), options.VersionShards), _options);

    private KeyLayout CurrentLayout()
    {
        string? tenant = _tenantOverride.Value ?? _tenantAccessor?.CurrentTenant;
        return tenant is null ? _defaultLayout : LayoutFor(tenant);
    }

    private static string[]? SourceIndexKeys(KeyLayout layout, CacheEntryOptions? options, TtlDecision decision)
    {
        if (options?.DependsOn is not { Count: > 0 } sources)
        {
            return null;
        }

        if (decision.PhysicalTtl is null)
        {
            throw new ArgumentException("An entry with DependsOn must expire: its dependency indexes need a TTL at least as long as the entry's.", nameof(options));
        }

        return sources.Select(s => layout.Source(s).Index).Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>
    /// Runs an invalidation (after checking that this process lays the prefix out as the others do), then detaches the
    /// loads in flight it may concern (one entry's, or all), whether or not it completed: a caller that comes after it
    /// never joins a load that began before it. A store failure is counted, logged and rethrown: an invalidation is never
    /// lost silently.
    /// </summary>
    private async Task<TResult> InvalidateAsync<TResult>(string kind, string target, Func<Task<TResult>> invalidation, CancellationToken cancellationToken, string? entryKey = null)
    {
        try
        {
            await _layoutGuard.ThrowIfMismatchedAsync(cancellationToken).ConfigureAwait(false);
            TResult result = await invalidation().ConfigureAwait(false);
            CacheMetrics.Invalidation(kind);
            return result;
        }
        catch (CacheStoreException ex)
        {
            CacheMetrics.StoreError("invalidate");
            Log.InvalidationFailed(_logger, kind, target, ex);
            throw;
        }
        finally
        {
            if (entryKey is null)
            {
                _readThrough.DetachAll();
            }
            else
            {
                _readThrough.Detach(entryKey);
            }
        }
    }

    private static SmartCacheOptions Validated(IOptions<SmartCacheOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        SmartCacheOptionsValidator.ThrowIfInvalid(options.Value, hasExistingConnection: false);
        return options.Value;
    }

    private sealed class TenantRestore(AsyncLocal<string?> slot, string? previous) : IDisposable
    {
        public void Dispose() => slot.Value = previous;
    }
}
