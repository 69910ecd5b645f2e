using System.Buffers;
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
/// entry's policy plus jitter, and invalidates by key or by version bump. Thread-safe; use one instance per application
/// (registered by <c>AddSmartCache</c>).
/// </summary>
public sealed class SmartCache : ISmartCache, IDisposable
{
    // Entry layout: one format byte, then the serializer's bytes. Anything else is treated as corrupt.
    private const byte EntryFormat = 1;

    private readonly KeyLayout _layout;
    private readonly TtlStrategy _ttl;
    private readonly VersionTagStrategy _versions;
    private readonly ICacheStore _store;
    private readonly ICacheSerializer _serializer;
    private readonly ILogger _logger;
    private readonly string _tenant;
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
        _ttl = new TtlStrategy(options, timeProvider ?? TimeProvider.System);
        _versions = new VersionTagStrategy(_layout, store);
        _serializer = options.Serializer;
        _logger = logger ?? NullLogger.Instance;
        _tenant = options.Tenant;
    }

    internal KeyLayout Layout => _layout;

    /// <inheritdoc/>
    public ValueTask<T> GetOrSetAsync<T>(CacheKey key, Func<CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return GetOrSetAsync(key, factory, static (f, ct) => f(ct), options, cancellationToken);
    }

    /// <inheritdoc/>
    public async ValueTask<T> GetOrSetAsync<TState, T>(CacheKey key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        EntryAddress address = _layout.Address(key);
        ArgumentNullException.ThrowIfNull(factory);
        cancellationToken.ThrowIfCancellationRequested();

        TtlDecision decision = _ttl.Decide(options);
        if (!decision.Cache)
        {
            CacheMetrics.Request("bypass");
            return await factory(state, cancellationToken).ConfigureAwait(false);
        }

        StoredEntry stored;
        try
        {
            stored = await _versions.ReadAsync(address, cancellationToken).ConfigureAwait(false);
        }
        catch (CacheStoreException ex)
        {
            CacheMetrics.Request("error");
            CacheMetrics.StoreError("read");
            Log.ReadFailed(_logger, key.ToString(), ex);
            return await factory(state, cancellationToken).ConfigureAwait(false);
        }

        string? stamp = stored.Stamp;
        if (stored.Value is { } bytes)
        {
            if (TryDeserialize(bytes, out T? cached, out Exception? error))
            {
                CacheMetrics.Request("hit");
                return cached!;
            }

            stamp = await DeleteCorruptAsync<T>(key, address, error, cancellationToken).ConfigureAwait(false);
        }

        CacheMetrics.Request("miss");
        T value = await factory(state, cancellationToken).ConfigureAwait(false);
        if (stamp is not null)
        {
            await TryWriteAsync(key, address, stamp, value, decision.Ttl, cancellationToken).ConfigureAwait(false);
        }

        return value;
    }

    /// <inheritdoc/>
    public async ValueTask<CacheResult<T>> GetAsync<T>(CacheKey key, CancellationToken cancellationToken = default)
    {
        EntryAddress address = _layout.Address(key);
        cancellationToken.ThrowIfCancellationRequested();

        StoredEntry stored;
        try
        {
            stored = await _versions.ReadAsync(address, cancellationToken).ConfigureAwait(false);
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
            if (TryDeserialize(bytes, out T? cached, out Exception? error))
            {
                CacheMetrics.Request("hit");
                return new CacheResult<T>(cached!);
            }

            await DeleteCorruptAsync<T>(key, address, error, cancellationToken).ConfigureAwait(false);
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

        ArrayBufferWriter<byte> buffer = Serialize(value);
        try
        {
            await _versions.WriteAsync(address, null, buffer.WrittenMemory, decision.Ttl, cancellationToken).ConfigureAwait(false);
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

    private bool TryDeserialize<T>(byte[] bytes, out T? value, out Exception? error)
    {
        error = null;
        value = default;
        if (bytes.Length == 0 || bytes[0] != EntryFormat)
        {
            error = new FormatException($"Unknown entry format {(bytes.Length == 0 ? "(empty)" : bytes[0].ToString(System.Globalization.CultureInfo.InvariantCulture))}; expected {EntryFormat}.");
            return false;
        }

        try
        {
            value = _serializer.Deserialize<T>(bytes.AsSpan(1));
            return true;
        }
#pragma warning disable CA1031 // Any serializer failure means the entry is unusable; the caller must never see it.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            error = ex;
            return false;
        }
    }

    /// <summary>Deletes an unreadable entry; returns the stamp to write a fresh value under, or null when the store failed.</summary>
    private async Task<string?> DeleteCorruptAsync<T>(CacheKey key, EntryAddress address, Exception? error, CancellationToken cancellationToken)
    {
        CacheMetrics.CorruptEntry();
        Log.CorruptEntry(_logger, key.ToString(), typeof(T).Name, error!);
        try
        {
            (_, string stamp) = await _store.DeleteAsync(address, cancellationToken).ConfigureAwait(false);
            return stamp;
        }
        catch (CacheStoreException ex)
        {
            Log.CorruptEntryDeleteFailed(_logger, key.ToString(), ex);
            return null;
        }
    }

    private async Task TryWriteAsync<T>(CacheKey key, EntryAddress address, string readStamp, T value, TimeSpan? ttl, CancellationToken cancellationToken)
    {
        ArrayBufferWriter<byte> buffer;
        try
        {
            buffer = Serialize(value);
        }
#pragma warning disable CA1031 // The value is still returned to its caller; failing to cache it must not fail the read.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            CacheMetrics.Write("error");
            Log.SerializeFailed(_logger, key.ToString(), ex);
            return;
        }

        try
        {
            bool written = await _versions.WriteAsync(address, readStamp, buffer.WrittenMemory, ttl, cancellationToken).ConfigureAwait(false);
            CacheMetrics.Write(written ? "written" : "refused");
        }
        catch (CacheStoreException ex)
        {
            CacheMetrics.Write("error");
            CacheMetrics.StoreError("write");
            Log.WriteFailed(_logger, key.ToString(), ex);
        }
    }

    private ArrayBufferWriter<byte> Serialize<T>(T value)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.GetSpan(1)[0] = EntryFormat;
        buffer.Advance(1);
        _serializer.Serialize(value, buffer);
        return buffer;
    }
}
