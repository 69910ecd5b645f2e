using System.Buffers;
using System.Collections.Concurrent;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using CacheInvalidation.Strategies;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CacheInvalidation;

/// <summary>
/// The cache facade: reads through Redis with version tags resolved in the same round trip, writes with the TTL of the
/// entry's policy plus jitter, and invalidates by key or by version bump. Concurrent misses of a key share one factory
/// call — in the process by coalescing, across processes by a lease in Redis — and a value computed before an
/// invalidation is never written after it. Thread-safe; use one instance per application (registered by
/// <c>AddSmartCache</c>).
/// </summary>
public sealed class SmartCache : ISmartCache, IDisposable
{
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan MaxPoll = TimeSpan.FromMilliseconds(10);

    internal const int SourceBatch = 250;

    private readonly SmartCacheOptions _options;
    private readonly KeyLayout _defaultLayout;
    private readonly ConcurrentDictionary<string, KeyLayout> _tenantLayouts = new(StringComparer.Ordinal);
    private readonly ITenantAccessor? _tenantAccessor;
    private readonly AsyncLocal<string?> _tenantOverride = new();
    private readonly RedisKeyspace _keyspace;
    private readonly TtlStrategy _ttl;
    private readonly VersionTagStrategy _versions;
    private readonly FlightCoalescer _flights = new();
    private readonly ConcurrentDictionary<(VersionScope, string), byte> _refreshing = new();
    private readonly RedisCacheStore _store;
    private readonly ICacheSerializer _serializer;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _leaseTime;
    private readonly double _earlyRefreshBeta;
    private readonly RedisConnection? _ownedConnection;

    /// <summary>Creates a cache that connects (lazily) with <see cref="SmartCacheOptions.Configuration"/> and owns that connection.</summary>
    /// <param name="options">The options; validated here.</param>
    /// <param name="logger">Receives the degraded-path messages; none when null.</param>
    /// <param name="timeProvider">The clock; the system clock when null.</param>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names each bad option.</exception>
    public SmartCache(IOptions<SmartCacheOptions> options, ILogger<SmartCache>? logger = null, TimeProvider? timeProvider = null)
        : this(Validated(options), RedisConnection.FromConfiguration(options.Value.Configuration!), ownsConnection: true, logger, timeProvider)
    {
    }

    internal SmartCache(SmartCacheOptions options, RedisConnection connection, bool ownsConnection, ILogger? logger, TimeProvider? timeProvider, ITenantAccessor? tenantAccessor = null)
    {
        _options = options;
        _defaultLayout = new KeyLayout(options.KeyPrefix, options.Tenant, options.VersionShards);
        _tenantAccessor = tenantAccessor;
        _store = new RedisCacheStore(connection);
        _keyspace = new RedisKeyspace(connection);
        _time = timeProvider ?? TimeProvider.System;
        _ttl = new TtlStrategy(options, _time);
        _versions = new VersionTagStrategy(_store);
        _serializer = options.Serializer;
        _logger = logger ?? NullLogger.Instance;
        _leaseTime = options.LeaseTime;
        _earlyRefreshBeta = options.EarlyRefreshBeta;
        _ownedConnection = ownsConnection ? connection : null;
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

        string[]? indexKeys = SourceIndexKeys(layout, options, decision);
        Task<T> flight = _flights.Run(
            address,
            new ReadThrough<TState, T>(this, key, address, state, factory, decision, indexKeys),
            static read => read.Cache.ReadThroughAsync(read));
        return new ValueTask<T>(cancellationToken.CanBeCanceled ? flight.WaitAsync(cancellationToken) : flight);
    }

    /// <inheritdoc/>
    public async ValueTask<CacheResult<T>> GetAsync<T>(CacheKey key, CancellationToken cancellationToken = default)
    {
        EntryAddress address = CurrentLayout().Address(key);
        cancellationToken.ThrowIfCancellationRequested();

        StoredEntry stored;
        try
        {
            stored = await _store.ReadAsync(address, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        }
        catch (CacheStoreException ex)
        {
            ReadFailed(key, ex);
            return default;
        }

        if (stored.Value is { } bytes)
        {
            // A key that still exists is inside its stale budget (the key lives for TTL + budget), so it is served.
            if (TryDeserialize(key, bytes, out T? value, out _, out _))
            {
                CacheMetrics.Request("hit");
                return new CacheResult<T>(value!);
            }

            await DeleteCorruptAsync(key, address, cancellationToken).ConfigureAwait(false);
        }

        CacheMetrics.Request("miss");
        return default;
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
        ArrayBufferWriter<byte> buffer = Serialize(value, decision, computeMs: 0);
        try
        {
            string? stamp = null;
            if (indexKeys is not null)
            {
                // Registered in the sources' indexes under the stamp it will be written with, before it is written.
                stamp = (await _store.AcquireLeaseAsync(address, TimeSpan.Zero, cancellationToken).ConfigureAwait(false)).Stamp!;
                await _store.RegisterDependentAsync(indexKeys, address.EntryKey(stamp), decision.PhysicalTtl!.Value + _leaseTime, cancellationToken).ConfigureAwait(false);
            }

            // Without a lease token the write voids outstanding leases: a value being computed elsewhere from older
            // data can no longer overwrite this one.
            await _store.WriteAsync(address, stamp, null, buffer.WrittenMemory, decision.PhysicalTtl, cancellationToken).ConfigureAwait(false);
            _flights.Detach(address);
            CacheMetrics.Write("written");
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
        try
        {
            (bool removed, _) = await _store.DeleteAsync(address, cancellationToken).ConfigureAwait(false);
            _flights.Detach(address);
            CacheMetrics.Invalidation("key");
            return removed;
        }
        catch (CacheStoreException ex)
        {
            CacheMetrics.StoreError("invalidate");
            Log.InvalidationFailed(_logger, "key", key.ToString(), ex);
            throw;
        }
    }

    /// <inheritdoc/>
    public ValueTask<bool> RemoveAsync(CacheKey key, CancellationToken cancellationToken = default) =>
        InvalidateKeyAsync(key, cancellationToken);

    /// <inheritdoc/>
    public async ValueTask InvalidateAllAsync(CancellationToken cancellationToken = default)
    {
        KeyLayout layout = CurrentLayout();
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await _versions.BumpGlobalAsync(layout, cancellationToken).ConfigureAwait(false);
            _flights.DetachAll();
            CacheMetrics.Invalidation("all");
            Log.InvalidatedAll(_logger, layout.Tenant, layout.Shards);
        }
        catch (CacheStoreException ex)
        {
            CacheMetrics.StoreError("invalidate");
            Log.InvalidationFailed(_logger, "all", layout.Tenant, ex);
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask<long> InvalidateSourceAsync(string source, CancellationToken cancellationToken = default)
    {
        string index = CurrentLayout().SourceIndexKey(source);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            long removed = await InvalidateIndexAsync(index, cancellationToken).ConfigureAwait(false);
            _flights.DetachAll();
            CacheMetrics.Invalidation("source");
            return removed;
        }
        catch (CacheStoreException ex)
        {
            CacheMetrics.StoreError("invalidate");
            Log.InvalidationFailed(_logger, "source", source, ex);
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask<long> InvalidateSourcesAsync(IEnumerable<string> sources, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sources);
        KeyLayout layout = CurrentLayout();
        string[] indexes = sources.Select(s => layout.SourceIndexKey(s)).Distinct(StringComparer.Ordinal).ToArray();
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            long[] removed = await Task.WhenAll(indexes.Select(i => InvalidateIndexAsync(i, cancellationToken))).ConfigureAwait(false);
            _flights.DetachAll();
            CacheMetrics.Invalidation("source");
            return removed.Sum();
        }
        catch (CacheStoreException ex)
        {
            CacheMetrics.StoreError("invalidate");
            Log.InvalidationFailed(_logger, "source", string.Join(", ", indexes), ex);
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask<NamespaceInvalidationReport> InvalidateNamespaceAsync(
        string namespaceName,
        NamespaceInvalidationOptions? options = null,
        IProgress<NamespaceInvalidationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        string pattern = CurrentLayout().NamespacePattern(namespaceName);
        options ??= new NamespaceInvalidationOptions();
        cancellationToken.ThrowIfCancellationRequested();
        long started = _time.GetTimestamp();
        async Task AfterBatch(long scanned, long deleted, CancellationToken token)
        {
            progress?.Report(new NamespaceInvalidationProgress(scanned, deleted));
            if (options.MaxKeysPerSecond is { } rate)
            {
                TimeSpan due = TimeSpan.FromSeconds((double)deleted / rate) - _time.GetElapsedTime(started);
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, _time, token).ConfigureAwait(false);
                }
            }

            token.ThrowIfCancellationRequested();
        }

        try
        {
            // Versions of the namespaces under it match too; they stay (harmless, tiny, and never reused).
            (long scanned, long deleted) = await _keyspace.ScanAndUnlinkAsync(pattern, "#v", options.BatchSize, AfterBatch, cancellationToken).ConfigureAwait(false);
            _flights.DetachAll();
            CacheMetrics.Invalidation("namespace");
            return new NamespaceInvalidationReport(namespaceName, scanned, deleted, _time.GetElapsedTime(started));
        }
        catch (CacheStoreException ex)
        {
            CacheMetrics.StoreError("invalidate");
            Log.InvalidationFailed(_logger, "namespace", namespaceName, ex);
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask InvalidateNamespaceVersionAsync(string namespaceName, CancellationToken cancellationToken = default)
    {
        KeyLayout layout = CurrentLayout();
        KeyPart.ValidateHierarchical(namespaceName, nameof(namespaceName));
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await _versions.BumpNamespaceAsync(layout, namespaceName, cancellationToken).ConfigureAwait(false);
            _flights.DetachAll();
            CacheMetrics.Invalidation("namespace");
        }
        catch (CacheStoreException ex)
        {
            CacheMetrics.StoreError("invalidate");
            Log.InvalidationFailed(_logger, "namespace", namespaceName, ex);
            throw;
        }
    }

    /// <summary>One pruning pass over a source's index: removes members whose entry is gone.</summary>
    internal async Task<long> PruneSourceIndexAsync(string source, CancellationToken cancellationToken = default)
    {
        string index = CurrentLayout().SourceIndexKey(source);
        long cursor = 0, pruned = 0;
        do
        {
            (cursor, long removed) = await _store.PruneSourceIndexAsync(index, cursor, 200, cancellationToken).ConfigureAwait(false);
            pruned += removed;
        }
        while (cursor != 0);
        return pruned;
    }

    /// <summary>Closes the Redis connection if this cache created it.</summary>
    public void Dispose() => _ownedConnection?.Dispose();

    /// <summary>Scopes the calls of the current async flow to <paramref name="tenant"/> (an event's tenant); null keeps the usual one.</summary>
    internal IDisposable UseTenant(string? tenant)
    {
        string? previous = _tenantOverride.Value;
        _tenantOverride.Value = tenant ?? previous;
        return new TenantRestore(_tenantOverride, previous);
    }

    private KeyLayout CurrentLayout()
    {
        string? tenant = _tenantOverride.Value ?? _tenantAccessor?.CurrentTenant;
        if (tenant is null || tenant == _defaultLayout.Tenant)
        {
            return _defaultLayout;
        }

        return _tenantLayouts.TryGetValue(tenant, out KeyLayout? layout)
            ? layout
            : _tenantLayouts.GetOrAdd(tenant, t => new KeyLayout(_options.KeyPrefix, KeyPart.Validate(t, nameof(tenant)), _options.VersionShards));
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

        return sources.Select(s => layout.SourceIndexKey(s)).Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Removes a source's dependents in bounded batches, without chasing dependents registered after it started.</summary>
    private async Task<long> InvalidateIndexAsync(string index, CancellationToken cancellationToken)
    {
        long removed = 0;
        long budget = long.MaxValue;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (long popped, long gone, long left) = await _store.InvalidateSourceBatchAsync(index, SourceBatch, cancellationToken).ConfigureAwait(false);
            removed += gone;
            budget = budget == long.MaxValue ? left : budget - popped;
            if (popped < SourceBatch || left == 0 || budget <= 0)
            {
                return removed;
            }
        }
    }

    private void PruneInBackground(string[] indexKeys)
    {
        // A dependent that expires stays in its index until the index expires or an invalidation pops it: a small
        // share of registrations prune one page of one index, which keeps long-lived indexes from growing.
        if (Random.Shared.Next(32) != 0)
        {
            return;
        }

        string index = indexKeys[Random.Shared.Next(indexKeys.Length)];
        _ = PruneAsync();

        async Task PruneAsync()
        {
            try
            {
                await _store.PruneSourceIndexAsync(index, 0, 100, CancellationToken.None).ConfigureAwait(false);
            }
            catch (CacheStoreException ex)
            {
                Log.PruneFailed(_logger, index, ex);
            }
        }
    }

    private static SmartCacheOptions Validated(IOptions<SmartCacheOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        SmartCacheOptionsValidator.ThrowIfInvalid(options.Value, hasExistingConnection: false);
        return options.Value;
    }

    /// <summary>
    /// One flight of <see cref="GetOrSetAsync{TState, T}"/>: it serves every caller that joined it, so nothing in it
    /// listens to one caller's cancellation.
    /// </summary>
    private async Task<T> ReadThroughAsync<TState, T>(ReadThrough<TState, T> read)
    {
        DateTimeOffset? waitDeadline = null;
        TimeSpan poll = FirstPoll;
        while (true)
        {
            StoredEntry stored;
            try
            {
                stored = await _store.ReadAsync(read.Address, _leaseTime, CancellationToken.None).ConfigureAwait(false);
                if (stored.Value is { } bytes)
                {
                    if (TryDeserialize(read.Key, bytes, out T? value, out long freshUntilMs, out int computeMs))
                    {
                        long nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
                        if (nowMs < freshUntilMs)
                        {
                            if (ShouldRefreshEarly(nowMs, freshUntilMs, computeMs))
                            {
                                StartRefresh(read);
                            }

                            CacheMetrics.Request("hit");
                            EndWait(waitDeadline, "served");
                            return value!;
                        }

                        if (nowMs < freshUntilMs + (long)read.Decision.StaleBudget.TotalMilliseconds)
                        {
                            StartRefresh(read);
                            CacheMetrics.Request("stale");
                            EndWait(waitDeadline, "served");
                            return value!;
                        }

                        // Expired and no stale budget left: load it like a miss.
                        stored = await _store.AcquireLeaseAsync(read.Address, _leaseTime, CancellationToken.None).ConfigureAwait(false);
                    }
                    else
                    {
                        stored = await DeleteCorruptThenLeaseAsync(read.Key, read.Address).ConfigureAwait(false);
                    }
                }
            }
            catch (CacheStoreException ex)
            {
                ReadFailed(read.Key, ex);
                return await read.Factory(read.State, CancellationToken.None).ConfigureAwait(false);
            }

            if (stored.LeaseToken is { } token)
            {
                CacheMetrics.Request("miss");
                return await ComputeAndWriteAsync(read, stored.Stamp!, token).ConfigureAwait(false);
            }

            // Another caller, in this process or another, holds the lease: wait for its value with back-off, at most
            // the lease time (a crashed owner's lease expires by then and the next read takes it).
            DateTimeOffset now = _time.GetUtcNow();
            waitDeadline ??= now + _leaseTime;
            if (now >= waitDeadline)
            {
                CacheMetrics.LeaseWait("timeout");
                Log.LeaseWaitTimedOut(_logger, read.Key.ToString(), (long)_leaseTime.TotalMilliseconds);
                return await read.Factory(read.State, CancellationToken.None).ConfigureAwait(false);
            }

            await Task.Delay(poll, _time).ConfigureAwait(false);
            poll = poll * 2 < MaxPoll ? poll * 2 : MaxPoll;
        }
    }

    /// <summary>A read the store failed: counted and logged; the caller falls back to the source (or a miss).</summary>
    private void ReadFailed(CacheKey key, CacheStoreException exception)
    {
        CacheMetrics.Request("error");
        CacheMetrics.StoreError("read");
        Log.ReadFailed(_logger, key.ToString(), exception);
    }

    private static void EndWait(DateTimeOffset? waitDeadline, string outcome)
    {
        if (waitDeadline is not null)
        {
            CacheMetrics.LeaseWait(outcome);
        }
    }

    /// <summary>Runs the factory as the lease owner and writes its value if the lease survived; the value is returned either way.</summary>
    private async Task<T> ComputeAndWriteAsync<TState, T>(ReadThrough<TState, T> read, string stamp, string leaseToken)
    {
        if (read.IndexKeys is { } indexKeys)
        {
            // Registered before the value is computed: an invalidation of a source from now on finds this entry and
            // voids the lease, so a value computed from the old source is refused when written.
            try
            {
                await _store.RegisterDependentAsync(indexKeys, read.Address.EntryKey(stamp), read.Decision.PhysicalTtl!.Value + _leaseTime, CancellationToken.None).ConfigureAwait(false);
                PruneInBackground(indexKeys);
            }
            catch (CacheStoreException ex)
            {
                Log.RegisterFailed(_logger, read.Key.ToString(), ex);
                await ReleaseLeaseAsync(read.Key, read.Address, leaseToken).ConfigureAwait(false);
                return await read.Factory(read.State, CancellationToken.None).ConfigureAwait(false);
            }
        }

        long started = _time.GetTimestamp();
        T value;
        try
        {
            value = await read.Factory(read.State, CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            await ReleaseLeaseAsync(read.Key, read.Address, leaseToken).ConfigureAwait(false);
            throw;
        }

        int computeMs = (int)Math.Min(int.MaxValue, _time.GetElapsedTime(started).TotalMilliseconds);
        ArrayBufferWriter<byte> buffer;
        try
        {
            buffer = Serialize(value, read.Decision, computeMs);
        }
#pragma warning disable CA1031 // The value is still returned to its callers; failing to cache it must not fail the read.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            CacheMetrics.Write("error");
            Log.SerializeFailed(_logger, read.Key.ToString(), ex);
            await ReleaseLeaseAsync(read.Key, read.Address, leaseToken).ConfigureAwait(false);
            return value;
        }

        try
        {
            bool written = await _store.WriteAsync(read.Address, stamp, leaseToken, buffer.WrittenMemory, read.Decision.PhysicalTtl, CancellationToken.None).ConfigureAwait(false);
            CacheMetrics.Write(written ? "written" : "refused");
        }
        catch (CacheStoreException ex)
        {
            CacheMetrics.Write("error");
            CacheMetrics.StoreError("write");
            Log.WriteFailed(_logger, read.Key.ToString(), ex);
        }

        return value;
    }

    private bool ShouldRefreshEarly(long nowMs, long freshUntilMs, int computeMs)
    {
        if (_earlyRefreshBeta <= 0 || computeMs <= 0 || freshUntilMs == long.MaxValue)
        {
            return false;
        }

        // XFetch: refresh when now − δ·β·ln(U) ≥ expiry, U uniform in (0, 1]; likelier as expiry nears and for slow values.
        double gap = -computeMs * _earlyRefreshBeta * Math.Log(1.0 - Random.Shared.NextDouble());
        return nowMs + gap >= freshUntilMs;
    }

    /// <summary>Refreshes an entry in the background, once per process and only with the key's lease.</summary>
    private void StartRefresh<TState, T>(ReadThrough<TState, T> read)
    {
        if (_refreshing.TryAdd((read.Address.Scope, read.Address.EntryKeySuffix), 0))
        {
            _ = RefreshAsync(read);
        }
    }

    private async Task RefreshAsync<TState, T>(ReadThrough<TState, T> read)
    {
        try
        {
            StoredEntry lease = await _store.AcquireLeaseAsync(read.Address, _leaseTime, CancellationToken.None).ConfigureAwait(false);
            if (lease.LeaseToken is { } token)
            {
                await ComputeAndWriteAsync(read, lease.Stamp!, token).ConfigureAwait(false);
                CacheMetrics.Refresh("done");
            }
            else
            {
                CacheMetrics.Refresh("skipped");
            }
        }
#pragma warning disable CA1031 // Nobody awaits a background refresh: its failure is logged and the stale value ages out.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            CacheMetrics.Refresh("error");
            Log.RefreshFailed(_logger, read.Key.ToString(), ex);
        }
        finally
        {
            _refreshing.TryRemove((read.Address.Scope, read.Address.EntryKeySuffix), out _);
        }
    }

    private async Task ReleaseLeaseAsync(CacheKey key, EntryAddress address, string leaseToken)
    {
        try
        {
            await _store.ReleaseLeaseAsync(address, leaseToken, CancellationToken.None).ConfigureAwait(false);
        }
        catch (CacheStoreException ex)
        {
            Log.LeaseReleaseFailed(_logger, key.ToString(), ex);
        }
    }

    private bool TryDeserialize<T>(CacheKey key, byte[] bytes, out T? value, out long freshUntilMs, out int computeMs)
    {
        value = default;
        Exception error;
        if (EntryEnvelope.TryReadHeader(bytes, out freshUntilMs, out computeMs))
        {
            try
            {
                value = _serializer.Deserialize<T>(bytes.AsSpan(EntryEnvelope.HeaderSize));
                return true;
            }
#pragma warning disable CA1031 // Any serializer failure means the entry is unusable; the caller must never see it.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                error = ex;
            }
        }
        else
        {
            error = new FormatException($"Not a cache entry of format {EntryEnvelope.Format} ({bytes.Length} bytes).");
        }

        CacheMetrics.CorruptEntry();
        Log.CorruptEntry(_logger, key.ToString(), typeof(T).Name, error);
        return false;
    }

    /// <summary>Deletes an unreadable entry (voiding its lease) and takes the lease to load a fresh value.</summary>
    private async Task<StoredEntry> DeleteCorruptThenLeaseAsync(CacheKey key, EntryAddress address)
    {
        await DeleteCorruptAsync(key, address, CancellationToken.None).ConfigureAwait(false);
        return await _store.AcquireLeaseAsync(address, _leaseTime, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task DeleteCorruptAsync(CacheKey key, EntryAddress address, CancellationToken cancellationToken)
    {
        try
        {
            await _store.DeleteAsync(address, cancellationToken).ConfigureAwait(false);
        }
        catch (CacheStoreException ex)
        {
            Log.CorruptEntryDeleteFailed(_logger, key.ToString(), ex);
        }
    }

    private ArrayBufferWriter<byte> Serialize<T>(T value, TtlDecision decision, int computeMs)
    {
        long freshUntilMs = decision.Ttl is { } ttl
            ? _time.GetUtcNow().Add(ttl).ToUnixTimeMilliseconds()
            : long.MaxValue;
        var buffer = new ArrayBufferWriter<byte>(256);
        EntryEnvelope.WriteHeader(buffer, freshUntilMs, computeMs);
        _serializer.Serialize(value, buffer);
        return buffer;
    }

    private sealed class TenantRestore(AsyncLocal<string?> slot, string? previous) : IDisposable
    {
        public void Dispose() => slot.Value = previous;
    }

    private readonly record struct ReadThrough<TState, T>(
        SmartCache Cache,
        CacheKey Key,
        EntryAddress Address,
        TState State,
        Func<TState, CancellationToken, ValueTask<T>> Factory,
        TtlDecision Decision,
        string[]? IndexKeys);
}
