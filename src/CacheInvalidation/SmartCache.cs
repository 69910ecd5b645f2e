using System.Diagnostics;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Freshness;
using CacheInvalidation.Keys;
using CacheInvalidation.Local;
using CacheInvalidation.Policy;
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
public sealed partial class SmartCache : ISmartCache, IDisposable
{
    private readonly TenantLayouts _tenants;
    private readonly ICacheStore _store;
    private readonly TtlStrategy _ttl;
    private readonly VersionTagStrategy _versions;
    private readonly IKeyspace _keyspace;
    private readonly DependencySetStrategy _dependencies;
    private readonly NamespaceScanStrategy _namespaces;
    private readonly ReadThrough _readThrough;
    private readonly DirectSet _directSet;
    private readonly InvalidationRunner _invalidations;
    private readonly LayoutGuard _layoutGuard;
    private readonly LocalTier? _local;
    private readonly ILogger _logger;
    private readonly IDisposable? _ownedConnection;
    private readonly CacheMetrics _metrics;
    private readonly FreshnessLedger _freshness;
    private readonly MissStorms _storms;
    private readonly KillSwitch _killSwitch;
    private readonly TimeProvider _time;

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

    internal SmartCache(SmartCacheOptions options, RedisConnection connection, bool ownsConnection, ILogger? logger, TimeProvider? timeProvider, ITenantAccessor? tenantAccessor = null, Func<bool>? suspendedByOptions = null)
        : this(options, CacheStores.ForRedis(connection, options.LeaseTime, logger), ownsConnection ? connection : null, logger, timeProvider, tenantAccessor, suspendedByOptions)
    {
    }

    /// <summary>The cache over any stores: tests wrap the Redis stores to inject faults and pauses.</summary>
    /// <remarks>
    /// <c>suspendedByOptions</c> reads the configured kill switch at run time (<c>AddSmartCache</c> reads it through
    /// <c>IOptionsMonitor</c>); by default <see cref="SmartCacheOptions.SuspendAggressiveInvalidation"/> of the options.
    /// </remarks>
    internal SmartCache(
        SmartCacheOptions options,
        CacheStores stores,
        IDisposable? ownedConnection,
        ILogger? logger,
        TimeProvider? timeProvider,
        ITenantAccessor? tenantAccessor,
        Func<bool>? suspendedByOptions = null)
    {
        TimeProvider time = timeProvider ?? TimeProvider.System;
        _time = time;
        _metrics = stores.Metrics;
        suspendedByOptions ??= () => options.SuspendAggressiveInvalidation;
        _killSwitch = new KillSwitch(stores.Keyspace, options.KeyPrefix, suspendedByOptions, _metrics, time);
        _metrics.ObserveKillSwitch(suspendedByOptions);
        _tenants = new TenantLayouts(options, tenantAccessor);
        _store = stores.Store;
        _logger = logger ?? NullLogger.Instance;
        _ttl = new TtlStrategy(options, time);
        _versions = new VersionTagStrategy(stores.Store);
        _keyspace = stores.Keyspace;
        _dependencies = new DependencySetStrategy(stores.Indexes, _logger);
        _namespaces = new NamespaceScanStrategy(_versions, stores.Keyspace, time);
        _layoutGuard = new LayoutGuard(stores.Store, options.KeyPrefix, options.VersionShards);
        Serializer = options.Serializer;
        _freshness = new FreshnessLedger(_metrics, StaleBudgets(options), FreshnessLedger.DefaultWindow, time);
        _storms = new MissStorms(_metrics, time, _logger);
        _local = CreateLocalTier(options, stores.Feed, time, _logger, _metrics);
        if (_local is not null)
        {
            _local.VersionBumped = _storms.BroadInvalidation; // bumps made by other nodes count as causes here too
        }
        _readThrough = new ReadThrough(
            stores.ReadStore,
            new DependencySetStrategy(stores.ReadIndexes, _logger),
            new EntryCodec(options.Serializer, time, _logger, _metrics),
            _layoutGuard,
            _local,
            time,
            _logger,
            options.LeaseTime,
            options.EarlyRefreshBeta,
            _metrics,
            _storms);
        _invalidations = new InvalidationRunner(_readThrough, _layoutGuard, stores.Store, _versions, _dependencies, _tenants, options.Resilience.JournalCapacity, time, _logger, _metrics, Invalidated);
        _directSet = new DirectSet(stores.Store, _dependencies, new EntryCodec(options.Serializer, time, _logger, _metrics), _logger, options.LeaseTime);
        _ownedConnection = ownedConnection;
    }

    /// <summary>The key layout of the configured tenant.</summary>
    internal KeyLayout Layout => _tenants.Default;

    /// <summary>The measurements of this cache, tagged with its name.</summary>
    internal CacheMetrics Metrics => _metrics;

    /// <summary>How many invalidations wait in the journal for Redis to confirm them.</summary>
    internal int PendingInvalidations => _invalidations.Journal.Count;

    /// <inheritdoc/>
    public ValueTask<T> GetOrSetAsync<T>(CacheKey key, Func<CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return GetOrSetAsync(key, factory, static (f, ct) => f(ct), options, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask<T> GetOrSetAsync<TState, T>(CacheKey key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        KeyLayout layout = _tenants.Current;
        KeyLayout.ThrowIfEmpty(key);
        ArgumentNullException.ThrowIfNull(factory);
        return CacheActivities.Enabled
            ? GetOrSetTracedAsync(layout, key, state, factory, options, cancellationToken)
            : GetOrSetCoreAsync(layout, key, state, factory, options, cancellationToken);
    }

    private async ValueTask<T> GetOrSetTracedAsync<TState, T>(KeyLayout layout, CacheKey key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options, CancellationToken cancellationToken)
    {
        using Activity? activity = CacheActivities.StartGetOrSet(_metrics.NameTag, key.Namespace);
        try
        {
            return await GetOrSetCoreAsync(layout, key, state, factory, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            CacheActivities.Fail(activity, ex);
            throw;
        }
    }

    private ValueTask<T> GetOrSetCoreAsync<TState, T>(KeyLayout layout, CacheKey key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<T>(cancellationToken);
        }

        TtlDecision decision = _ttl.Decide(options);
        if (!decision.Cache)
        {
            _metrics.Request("bypass");
            return factory(state, cancellationToken);
        }

        _freshness.Read(decision.Class, layout.Tenant, key);

        if (_invalidations.Journal.Affects(layout.Tenant, key))
        {
            // An invalidation of this entry is not confirmed yet: Redis may still hold what it removes.
            _metrics.Request("pending");
            return factory(state, cancellationToken);
        }

        if (decision.IsLocal && _local is { } local && DependencySetStrategy.ThrowIfNotExpiring(options, decision) && local.TryGet(layout.Tenant, key, decision.LocalBudget, out T cached))
        {
            _metrics.Request("local");
            return new ValueTask<T>(cached);
        }

        return new ValueTask<T>(_readThrough.GetOrSetAsync(layout, key, layout.Address(key), state, factory, decision, DependencySetStrategy.IndexKeys(layout, options, decision), cancellationToken));
    }

    /// <inheritdoc/>
    public ValueTask<CacheResult<T>> GetAsync<T>(CacheKey key, CancellationToken cancellationToken = default)
    {
        KeyLayout layout;
        try
        {
            layout = _tenants.Current;
            KeyLayout.ThrowIfEmpty(key);
        }
        catch (ArgumentException ex)
        {
            return ValueTask.FromException<CacheResult<T>>(ex); // as before: a faulted task, not a throw at the call
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<CacheResult<T>>(cancellationToken);
        }

        _freshness.Read(DataClass.Important, layout.Tenant, key); // the entry's class is not known here: the default one
        if (_invalidations.Journal.Affects(layout.Tenant, key))
        {
            _metrics.Request("pending");
            return default;
        }

        if (_local is { } local && local.TryGet(layout.Tenant, key, callerBudget: null, out T cached))
        {
            _metrics.Request("local");
            return new ValueTask<CacheResult<T>>(new CacheResult<T>(cached));
        }

        return new ValueTask<CacheResult<T>>(_readThrough.GetAsync<T>(key, layout.Address(key), cancellationToken));
    }

    /// <inheritdoc/>
    public async ValueTask SetAsync<T>(CacheKey key, T value, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        KeyLayout layout = _tenants.Current;
        EntryAddress address = layout.Address(key);
        cancellationToken.ThrowIfCancellationRequested();
        TtlDecision decision = _ttl.Decide(options);
        if (!decision.Cache)
        {
            return;
        }

        string[]? indexKeys = DependencySetStrategy.IndexKeys(layout, options, decision);
        try
        {
            await _layoutGuard.ThrowIfMismatchedAsync(cancellationToken).ConfigureAwait(false);
            bool written = await _directSet.SetAsync(key, address, value, decision, indexKeys, cancellationToken).ConfigureAwait(false);
            _readThrough.Detach(address.EntryKey);
            _metrics.Write(written ? "written" : "refused");
        }
        catch (CacheStoreException ex)
        {
            _metrics.Write("error");
            _metrics.StoreError("write");
            Log.WriteFailed(_logger, key.ToString(), ex);
            throw;
        }
    }

    /// <summary>Makes callers from now on start new loads instead of joining those in flight (after a purge made elsewhere).</summary>
    internal void DetachLoads()
    {
        _readThrough.DetachAll();
        _freshness.ForgetAll();
        _storms.BroadInvalidation();
    }

    /// <summary>Stops applying journaled invalidations and closes the Redis connection if this cache created it.</summary>
    public void Dispose()
    {
        _freshness.Dispose();
        _storms.Dispose();
        _local?.Dispose();
        _invalidations.Dispose();
        _metrics.StopObservingKillSwitch();
        _ownedConnection?.Dispose();
    }

    /// <summary>
    /// One confirmation round of the local tier now: when it returns, every invalidation committed before the call has been
    /// applied to this node's memory, or what it concerns was flushed (tests settle on it).
    /// </summary>
    internal Task ConfirmLocalAsync(CancellationToken cancellationToken = default) =>
        _local?.ConfirmAsync(cancellationToken) ?? Task.CompletedTask;

    private static LocalTier? CreateLocalTier(SmartCacheOptions options, IInvalidationFeed feed, TimeProvider time, ILogger logger, CacheMetrics metrics) =>
        options.LocalCache.Enabled && SmartCacheOptionsValidator.SmallestLocalBudget(options) is { } budget
            ? new LocalTier(options.LocalCache, options.LocalCache.EffectiveConfirmationInterval(budget), feed, time, logger, metrics)
            : null;

    /// <summary>Scopes the calls of the current async flow to <paramref name="tenant"/> (an event's tenant); null keeps the usual one.</summary>
    internal IDisposable UseTenant(string? tenant) => _tenants.Use(tenant);

    /// <summary>The key layout of <paramref name="tenant"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="tenant"/> is not a valid key part.</exception>
    internal KeyLayout LayoutFor(string tenant) => _tenants.For(tenant);

    private static SmartCacheOptions Validated(IOptions<SmartCacheOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        SmartCacheOptionsValidator.ThrowIfInvalid(options.Value, hasExistingConnection: false);
        return options.Value;
    }
}
