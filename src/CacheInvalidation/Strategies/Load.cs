using CacheInvalidation.Keys;

namespace CacheInvalidation.Strategies;

/// <summary>One read-through of an entry: what its flight, its lease owner and its background refresh need.</summary>
internal readonly record struct Load<TState, T>(
    ReadThrough Owner,
    KeyLayout Layout,
    CacheKey Key,
    EntryAddress Address,
    TState State,
    Func<TState, CancellationToken, ValueTask<T>> Factory,
    TtlDecision Decision,
    string[]? IndexKeys);
