using CacheInvalidation.Keys;

namespace CacheInvalidation;

/// <summary>Overloads taking a plain string key (a key without namespace, validated like any key part).</summary>
public static class SmartCacheExtensions
{
    /// <summary>Reads an entry by string key. See <see cref="ISmartCache.GetAsync{T}"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="key"/> is null, empty or not a valid key part.</exception>
    public static ValueTask<CacheResult<T>> GetAsync<T>(this ISmartCache cache, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        return cache.GetAsync<T>(ToKey(key), cancellationToken);
    }

    /// <summary>Writes an entry by string key. See <see cref="ISmartCache.SetAsync{T}"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="key"/> is null, empty or not a valid key part.</exception>
    public static ValueTask SetAsync<T>(this ISmartCache cache, string key, T value, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        return cache.SetAsync(ToKey(key), value, options, cancellationToken);
    }

    /// <summary>Reads through the cache by string key. See <see cref="ISmartCache.GetOrSetAsync{T}(CacheKey, Func{CancellationToken, ValueTask{T}}, CacheEntryOptions?, CancellationToken)"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="key"/> is null, empty or not a valid key part.</exception>
    public static ValueTask<T> GetOrSetAsync<T>(this ISmartCache cache, string key, Func<CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        return cache.GetOrSetAsync(ToKey(key), factory, options, cancellationToken);
    }

    /// <summary>Removes an entry by string key. See <see cref="ICacheInvalidator.InvalidateKeyAsync"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="key"/> is null, empty or not a valid key part.</exception>
    public static ValueTask<bool> InvalidateKeyAsync(this ICacheInvalidator cache, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        return cache.InvalidateKeyAsync(ToKey(key), cancellationToken);
    }

    private static CacheKey ToKey(string key)
    {
        KeyPart.Validate(key, nameof(key));
        return CacheKey.Create(key);
    }
}
