using CacheInvalidation.Keys;

namespace CacheInvalidation;

/// <summary>
/// Which tenant a call is scoped to — an event's tenant for the current async flow, else the registered
/// <see cref="ITenantAccessor"/>'s, else the configured one — and that tenant's key layout (kept for up to 10,000 tenants).
/// </summary>
internal sealed class TenantLayouts(SmartCacheOptions options, ITenantAccessor? accessor)
{
    private readonly BoundedCache<string, KeyLayout> _layouts = new(10_000);
    private readonly AsyncLocal<string?> _override = new();

    /// <summary>The layout of the configured tenant.</summary>
    public KeyLayout Default { get; } = new(options.KeyPrefix, options.Tenant, options.VersionShards);

    /// <summary>The layout of the current call's tenant.</summary>
    /// <exception cref="ArgumentException">The tenant is not a valid key part.</exception>
    public KeyLayout Current => (_override.Value ?? accessor?.CurrentTenant) is { } tenant ? For(tenant) : Default;

    /// <summary>The key layout of <paramref name="tenant"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="tenant"/> is not a valid key part.</exception>
    public KeyLayout For(string tenant) =>
        tenant == Default.Tenant
            ? Default
            : _layouts.GetOrAdd(tenant, static (t, o) => new KeyLayout(o.KeyPrefix, KeyPart.Validate(t, nameof(tenant)), o.VersionShards), options);

    /// <summary>Scopes the calls of the current async flow to <paramref name="tenant"/>; null keeps the usual one.</summary>
    public IDisposable Use(string? tenant)
    {
        string? previous = _override.Value;
        _override.Value = tenant ?? previous;
        return new Restore(_override, previous);
    }

    private sealed class Restore(AsyncLocal<string?> slot, string? previous) : IDisposable
    {
        public void Dispose() => slot.Value = previous;
    }
}
