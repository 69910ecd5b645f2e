namespace CacheInvalidation.Events;

/// <summary>What an event handler asks the consumer to invalidate.</summary>
public sealed record InvalidationAction
{
    private InvalidationAction(InvalidationActionKind kind, string? @namespace, string? value)
    {
        Kind = kind;
        KeyNamespace = @namespace;
        Value = value;
    }

    /// <summary>The kind of invalidation.</summary>
    public InvalidationActionKind Kind { get; }

    /// <summary>The key's namespace (for <see cref="InvalidationActionKind.Key"/>).</summary>
    public string? KeyNamespace { get; }

    /// <summary>The key id, source or namespace.</summary>
    public string? Value { get; }

    /// <summary>Invalidate one key.</summary>
    public static InvalidationAction Key(string @namespace, string id) => new(InvalidationActionKind.Key, @namespace, id);

    /// <summary>Invalidate a dependency source's dependents.</summary>
    public static InvalidationAction Source(string source) => new(InvalidationActionKind.Source, null, source);

    /// <summary>Invalidate a namespace (a scan; a version bump while scans are paused).</summary>
    public static InvalidationAction Namespace(string @namespace) => new(InvalidationActionKind.Namespace, null, @namespace);

    /// <summary>Invalidate every entry of the tenant.</summary>
    public static InvalidationAction All { get; } = new(InvalidationActionKind.All, null, null);
}

/// <summary>Kinds of <see cref="InvalidationAction"/>.</summary>
public enum InvalidationActionKind
{
    /// <summary>One key.</summary>
    Key,

    /// <summary>A dependency source.</summary>
    Source,

    /// <summary>A namespace.</summary>
    Namespace,

    /// <summary>Everything of the tenant.</summary>
    All,
}
