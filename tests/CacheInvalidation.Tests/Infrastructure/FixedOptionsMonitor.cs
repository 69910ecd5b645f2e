using Microsoft.Extensions.Options;

namespace CacheInvalidation.Tests.Infrastructure;

/// <summary>An <see cref="IOptionsMonitor{T}"/> over one options object, which a test may change in place.</summary>
public sealed class FixedOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;

    public T Get(string? name) => value;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}
