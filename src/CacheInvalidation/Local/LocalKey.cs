using CacheInvalidation.Keys;

namespace CacheInvalidation.Local;

/// <summary>An entry's name in the local tier: its tenant and cache key (no string built on a hit).</summary>
internal readonly struct LocalKey(string tenant, string @namespace, string id) : IEquatable<LocalKey>
{
    public LocalKey(string tenant, CacheKey key)
        : this(tenant, key.Namespace, key.Id)
    {
    }

    public string Tenant { get; } = tenant;

    public string Namespace { get; } = @namespace;

    public string Id { get; } = id;

    public bool Equals(LocalKey other) =>
        string.Equals(Id, other.Id, StringComparison.Ordinal)
        && string.Equals(Namespace, other.Namespace, StringComparison.Ordinal)
        && string.Equals(Tenant, other.Tenant, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is LocalKey other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Id, Namespace, Tenant);
}

/// <summary>A value held in memory: valid while its scope's epoch is <see cref="Epoch"/>, fresh until <see cref="ExpiresAt"/> (timestamps).</summary>
internal sealed class LocalEntry(object? value, LocalScope scope, int epoch, long expiresAt, long budgetTicks)
{
    public object? Value { get; } = value;

    public LocalScope Scope { get; } = scope;

    public int Epoch { get; } = epoch;

    public long ExpiresAt { get; } = expiresAt;

    /// <summary>The stale budget of the entry's data class, in timestamp ticks.</summary>
    public long BudgetTicks { get; } = budgetTicks;

    /// <summary>Fresh, not voided, and its shard proven within the smaller of its own budget and <paramref name="callerBudgetTicks"/>.</summary>
    public bool IsServable(long now, long callerBudgetTicks) =>
        now < ExpiresAt && Epoch == Scope.Epoch && Scope.Shard.IsTrusted(now, Math.Min(BudgetTicks, callerBudgetTicks));
}
