namespace CacheInvalidation;

/// <summary>The outcome of <see cref="ISmartCache.GetAsync{T}"/>: a value, or none (<c>default</c>, a miss).</summary>
/// <typeparam name="T">The type of the value.</typeparam>
public readonly record struct CacheResult<T>
{
    /// <summary>A hit holding <paramref name="value"/>.</summary>
    public CacheResult(T value)
    {
        Found = true;
        Value = value;
    }

    /// <summary>True when the cache held a readable value.</summary>
    public bool Found { get; }

    /// <summary>The value on a hit; <c>default</c> on a miss.</summary>
    public T Value { get; }
}
