using CacheInvalidation.Keys;

namespace CacheInvalidation.Events;

/// <summary>What an invalidation event asks for, as actions, and how each action is applied to the cache.</summary>
internal static class EventActions
{
    /// <summary>The targets the event names itself; throws <see cref="ArgumentException"/> for invalid tenant, entity or targets.</summary>
    public static List<InvalidationAction> TargetsOf(InvalidationEvent invalidation)
    {
        if (invalidation.Tenant is not null)
        {
            KeyPart.Validate(invalidation.Tenant, "tenant");
        }

        if (invalidation.Entity is not null)
        {
            KeyPart.ValidateHierarchical(invalidation.Entity, "entity");
        }

        var actions = new List<InvalidationAction>();
        actions.AddRange(invalidation.Keys.Select(k => InvalidationAction.Key(k.Namespace, k.Id)));
        actions.AddRange(invalidation.Sources.Select(InvalidationAction.Source));
        actions.AddRange(invalidation.Namespaces.Select(InvalidationAction.Namespace));
        if (invalidation.InvalidateAll)
        {
            actions.Add(InvalidationAction.All);
        }

        return actions;
    }

    /// <summary>Applies one action on <paramref name="cache"/> (for the event's tenant, set by the caller).</summary>
    public static async Task ApplyAsync(SmartCache cache, InvalidationAction action, bool scansPaused)
    {
        switch (action.Kind)
        {
            case InvalidationActionKind.Key:
                CacheKey key = string.IsNullOrEmpty(action.KeyNamespace) ? CacheKey.Create(action.Value!) : CacheKey.Create(action.KeyNamespace, action.Value!);
                await cache.InvalidateKeyAsync(key).ConfigureAwait(false);
                break;
            case InvalidationActionKind.Source:
                await cache.InvalidateSourceAsync(action.Value!).ConfigureAwait(false);
                break;
            case InvalidationActionKind.Namespace:
                // The kill switch (or this consumer's PauseNamespaceScans) turns the scan into the namespace's version bump.
                await cache.InvalidateNamespaceAsync(action.Value!, null, null, scansPaused: scansPaused, CancellationToken.None).ConfigureAwait(false);
                break;
            case InvalidationActionKind.All:
                await cache.InvalidateAllAsync().ConfigureAwait(false);
                break;
        }
    }

    /// <summary>One action in words, for the dry-run log.</summary>
    public static string Describe(InvalidationAction action) => action.Kind switch
    {
        InvalidationActionKind.Key => $"key {action.KeyNamespace}/{action.Value}",
        InvalidationActionKind.All => "everything",
        _ => $"{action.Kind.ToString().ToLowerInvariant()} {action.Value}",
    };
}
