namespace CacheInvalidation;

/// <summary>The LRU configuration strategy: what to check, and optionally set, on the server's memory policy.</summary>
public sealed class MemoryPolicyOptions
{
    /// <summary>Inspect (and apply, when set) at application start-up and log the findings; off by default.</summary>
    public bool CheckOnStart { get; set; }

    /// <summary>A <c>maxmemory</c> value to set (e.g. <c>256mb</c>), only if <see cref="Apply"/> is true.</summary>
    public string? MaxMemory { get; set; }

    /// <summary>A <c>maxmemory-policy</c> to set (e.g. <c>volatile-lru</c>), only if <see cref="Apply"/> is true.</summary>
    public string? EvictionPolicy { get; set; }

    /// <summary>Allows CONFIG SET of <see cref="MaxMemory"/> and <see cref="EvictionPolicy"/>; false inspects only.</summary>
    public bool Apply { get; set; }
}
