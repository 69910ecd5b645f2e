using System.Runtime.CompilerServices;
using CacheInvalidation.Keys;

namespace CacheInvalidation;

/// <summary>
/// Overloads for factories that return <see cref="Task{TResult}"/> (the usual shape of an EF Core or repository
/// method) and for plain string keys (a key without namespace, validated like any key part).
/// </summary>
/// <remarks>
/// The <see cref="Task{TResult}"/> overloads are extension methods on purpose: the compiler prefers the interface's
/// <see cref="ValueTask{TResult}"/> methods wherever they apply (an <c>async</c> lambda, a <c>ValueTask</c> method), and
/// only falls back to these when the factory can only be a <see cref="Task{TResult}"/> — so neither shape is ambiguous.
/// </remarks>
public static class SmartCacheExtensions
{
    /// <summary>
    /// Reads through the cache with a factory returning <see cref="Task{TResult}"/>. See
    /// <see cref="ISmartCache.GetOrSetAsync{T}(CacheKey, Func{CancellationToken, ValueTask{T}}, CacheEntryOptions?, CancellationToken)"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="cache"/> or <paramref name="factory"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="key"/> is empty.</exception>
    public static ValueTask<T> GetOrSetAsync<T>(this ISmartCache cache, CacheKey key, Func<CancellationToken, Task<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(factory);
        return cache.GetOrSetAsync(key, factory, static (f, ct) => new ValueTask<T>(f(ct)), options, cancellationToken);
    }

    /// <summary>
    /// Reads through the cache with a static factory returning <see cref="Task{TResult}"/> and its state. See
    /// <see cref="ISmartCache.GetOrSetAsync{TState, T}(CacheKey, TState, Func{TState, CancellationToken, ValueTask{T}}, CacheEntryOptions?, CancellationToken)"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="cache"/> or <paramref name="factory"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="key"/> is empty.</exception>
    public static ValueTask<T> GetOrSetAsync<TState, T>(this ISmartCache cache, CacheKey key, TState state, Func<TState, CancellationToken, Task<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(factory);
        return cache.GetOrSetAsync(key, (state, factory), static (s, ct) => new ValueTask<T>(s.factory(s.state, ct)), options, cancellationToken);
    }

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
    [OverloadResolutionPriority(1)] // an async lambda would otherwise match this and the Task overload equally well
    public static ValueTask<T> GetOrSetAsync<T>(this ISmartCache cache, string key, Func<CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        return cache.GetOrSetAsync(ToKey(key), factory, options, cancellationToken);
    }

    /// <summary>Reads through the cache by string key with a factory returning <see cref="Task{TResult}"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="key"/> is null, empty or not a valid key part.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="cache"/> or <paramref name="factory"/> is null.</exception>
    public static ValueTask<T> GetOrSetAsync<T>(this ISmartCache cache, string key, Func<CancellationToken, Task<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
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
