using CacheInvalidation.Keys;
using Microsoft.Extensions.Caching.Hybrid;

namespace CacheInvalidation.Hybrid;

/// <summary>
/// <see cref="HybridCache"/> over an <see cref="ISmartCache"/>: keys go to the <see cref="HybridCacheKeys.Namespace"/>
/// namespace, tags become dependency sources, and every removal reaches every node's memory (the local tier's
/// invalidation messages), which HybridCache's own implementation does not do for its in-process tier.
/// </summary>
internal sealed class SmartHybridCache(ISmartCache cache, SmartHybridCacheOptions options) : HybridCache
{
    private readonly EntryPlanner _planner = new(options);

    /// <inheritdoc/>
    public override ValueTask<T> GetOrCreateAsync<TState, T>(
        string key,
        TState state,
        Func<TState, CancellationToken, ValueTask<T>> factory,
        HybridCacheEntryOptions? options = null,
        IEnumerable<string>? tags = null,
        CancellationToken cancellationToken = default)
    {
        CacheKey cacheKey = HybridCacheKeys.ToCacheKey(key);
        ArgumentNullException.ThrowIfNull(factory);
        EntryPlan plan = _planner.Plan(options, tags);
        return plan.Mode switch
        {
            // The factory and its state go straight through: the core's state overload has the same shape, so the hot
            // path allocates no closure.
            EntryMode.ReadThrough => cache.GetOrSetAsync(cacheKey, state, factory, plan.Options, cancellationToken),
            EntryMode.FactoryOnly => factory(state, cancellationToken),
            EntryMode.DefaultOnly => new ValueTask<T>(default(T)!),
            _ => ReadAsync(cacheKey, state, factory, load: plan.Mode == EntryMode.ReadOnly, cancellationToken),
        };
    }

    /// <inheritdoc/>
    public override ValueTask SetAsync<T>(string key, T value, HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default)
    {
        CacheKey cacheKey = HybridCacheKeys.ToCacheKey(key);
        EntryPlan plan = _planner.Plan(options, tags);

        // A value that may not be written must not leave the one it replaces readable either: the caller said it is out
        // of date. The memory of a node holds only what Redis holds, so "local only" cannot be expressed; remove instead.
        return plan.Writes ? cache.SetAsync(cacheKey, value, plan.Options, cancellationToken) : Completion(cache.RemoveAsync(cacheKey, cancellationToken));
    }

    /// <inheritdoc/>
    public override ValueTask RemoveAsync(string key, CancellationToken cancellationToken = default) =>
        Completion(cache.RemoveAsync(HybridCacheKeys.ToCacheKey(key), cancellationToken));

    /// <inheritdoc/>
    public override ValueTask RemoveByTagAsync(string tag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        return tag == HybridCacheKeys.WildcardTag
            ? cache.InvalidateNamespaceVersionAsync(HybridCacheKeys.Namespace, cancellationToken)
            : Completion(cache.InvalidateSourceAsync(HybridCacheKeys.ToSource(tag, nameof(tag)), cancellationToken));
    }

    /// <inheritdoc/>
    /// <remarks>One invalidation for all the tags (the core snapshots every source's index in one run), not one per tag.</remarks>
    public override async ValueTask RemoveByTagAsync(IEnumerable<string> tags, CancellationToken cancellationToken = default)
    {
        if (tags is null)
        {
            return; // as HybridCache asks of implementations: null is empty
        }

        bool everything = false;
        var sources = new List<string>();
        foreach (string tag in tags)
        {
            ArgumentException.ThrowIfNullOrEmpty(tag, nameof(tags));
            if (tag == HybridCacheKeys.WildcardTag)
            {
                everything = true;
            }
            else
            {
                sources.Add(HybridCacheKeys.ToSource(tag, nameof(tags)));
            }
        }

        if (everything)
        {
            await cache.InvalidateNamespaceVersionAsync(HybridCacheKeys.Namespace, cancellationToken).ConfigureAwait(false);
        }

        // Still needed after "*": tags are sources the core API shares, whose other dependents the bump does not reach.
        if (sources.Count > 0)
        {
            await cache.InvalidateSourcesAsync(sources, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<T> ReadAsync<TState, T>(CacheKey key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, bool load, CancellationToken cancellationToken)
    {
        CacheResult<T> cached = await cache.GetAsync<T>(key, cancellationToken).ConfigureAwait(false);
        if (cached.Found)
        {
            return cached.Value;
        }

        return load ? await factory(state, cancellationToken).ConfigureAwait(false) : default!;
    }

    /// <summary>The completion of a call whose result HybridCache has no place for.</summary>
    private static ValueTask Completion<TResult>(ValueTask<TResult> call)
    {
        if (call.IsCompletedSuccessfully)
        {
            _ = call.Result;
            return default;
        }

        return AwaitAsync(call);

        static async ValueTask AwaitAsync(ValueTask<TResult> pending) => await pending.ConfigureAwait(false);
    }
}
