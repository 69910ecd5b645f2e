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
    private static readonly TimeSpan MaxPoll = TimeSpan.FromMilliseconds(50);

    private readonly KeyLayout _layout;
    private readonly TtlStrategy _ttl;
    private readonly VersionTagStrategy _versions;
    private readonly FlightCoalescer _flights = new();
    private readonly ConcurrentDictionary<(VersionScope, string), byte> _refreshing = new();
    private readonly ICacheStore _store;
    private readonly ICacheSerializer _serializer;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _tenant;
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

    internal SmartCache(SmartCacheOptions options, RedisConnection connection, bool ownsConnection, ILogger? logger, TimeProvider? timeProvider)
        : this(options, new RedisCacheStore(connection), logger, timeProvider)
    {
        _ownedConnection = ownsConnection ? connection : null;
    }

    internal SmartCache(SmartCacheOptions options, ICacheStore store, ILogger? logger, TimeProvider? timeProvider)
    {
        _layout = new KeyLayout(options.KeyPrefix, options.Tenant, options.VersionShards);
        _store = store;
        _time = timeProvider ?? TimeProvider.System;
        _ttl = new TtlStrategy(options, _time);
        _versions = new VersionTagStrategy(_layout, store);
        _serializer = options.Serializer;
        _logger = logger ?? NullLogger.Instance;
        _tenant = options.Tenant;
        _leaseTime = options.LeaseTime;
        _earlyRefreshBeta = options.EarlyRefreshBeta;
    }

    internal KeyLayout Layout => _layout;

    /// <inheritdoc/>
    public ValueTask<T> GetOrSetAsync<T>(CacheKey key, Func<CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return GetOrSetAsync(key, factory, static (f, ct) => f(ct), options, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask<T> GetOrSetAsync<TState, T>(CacheKey key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        EntryAddress address = _layout.Address(key);
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

        Task<T> flight = _flights.Run(
            address,
            new ReadThrough<TState, T>(this, key, address, state, factory, decision),
            static read => read.Cache.ReadThroughAsync(read));
        return new ValueTask<T>(cancellationToken.CanBeCanceled ? flight.WaitAsync(cancellationToken) : flight);
    }

    /// <inheritdoc/>
    public async ValueTask<CacheResult<T>> GetAsync<T>(CacheKey key, CancellationToken cancellationToken = default)
    {
        EntryAddress address = _layout.Address(key);
        cancellationToken.ThrowIfCancellationRequested();

        StoredEntry stored;
        try
        {
            stored = await _store.ReadAsync(address, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        }
        catch (CacheStoreException ex)
        {
            CacheMetrics.Request("error");
            CacheMetrics.StoreError("read");
            Log.ReadFailed(_logger, key.ToString(), ex);
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
        EntryAddress address = _layout.Address(key);
        cancellationToken.ThrowIfCancellationRequested();

        TtlDecision decision = _ttl.Decide(options);
        if (!decision.Cache)
        {
            return;
        }

        ArrayBufferWriter<byte> buffer = Serialize(value, decision, computeMs: 0);
        try
        {
            // Without a lease token the write voids outstanding leases: a value being computed elsewhere from older
            // data can no longer overwrite this one.
            await _store.WriteAsync(address, null, null, buffer.WrittenMemory, decision.PhysicalTtl, cancellationToken).ConfigureAwait(false);
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
        EntryAddress address = _layout.Address(key);
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
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await _versions.BumpGlobalAsync(cancellationToken).ConfigureAwait(false);
            _flights.DetachAll();
            CacheMetrics.Invalidation("all");
            Log.InvalidatedAll(_logger, _tenant, _layout.Shards);
        }
        catch (CacheStoreException ex)
        {
            CacheMetrics.StoreError("invalidate");
            Log.InvalidationFailed(_logger, "all", _tenant, ex);
            throw;
        }
    }

    /// <summary>Bumps one namespace's version on every shard; published with the namespace strategy.</summary>
    internal async ValueTask BumpNamespaceVersionAsync(string @namespace, CancellationToken cancellationToken = default)
    {
        KeyPart.ValidateHierarchical(@namespace, nameof(@namespace));
        try
        {
            await _versions.BumpNamespaceAsync(@namespace, cancellationToken).ConfigureAwait(false);
            _flights.DetachAll();
            CacheMetrics.Invalidation("namespace");
        }
        catch (CacheStoreException ex)
        {
            CacheMetrics.StoreError("invalidate");
            Log.InvalidationFailed(_logger, "namespace", @namespace, ex);
            throw;
        }
    }

    /// <summary>Closes the Redis connection if this cache created it.</summary>
    public void Dispose() => _ownedConnection?.Dispose();

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
                CacheMetrics.Request("error");
                CacheMetrics.StoreError("read");
                Log.ReadFailed(_logger, read.Key.ToString(), ex);
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

    private readonly record struct ReadThrough<TState, T>(
        SmartCache Cache,
        CacheKey Key,
        EntryAddress Address,
        TState State,
        Func<TState, CancellationToken, ValueTask<T>> Factory,
        TtlDecision Decision);
}
