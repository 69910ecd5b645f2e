using System.Buffers;
using CacheInvalidation.Keys;
using CacheInvalidation.Policy;

namespace CacheInvalidation.Freshness;

/// <summary>How the entries of one namespace are compared with their source of truth.</summary>
internal abstract class SourceRegistration(DataClass dataClass)
{
    public DataClass DataClass { get; } = dataClass;

    /// <summary>Whether the cached value (the serializer's bytes) is what the source holds now.</summary>
    public abstract Task<bool> MatchesAsync(IServiceProvider services, CacheKey key, ReadOnlyMemory<byte> cached, ICacheSerializer serializer, CancellationToken cancellationToken);
}

internal sealed class SourceRegistration<T>(DataClass dataClass, Func<IServiceProvider, CacheKey, CancellationToken, Task<T?>> load, IEqualityComparer<T>? comparer)
    : SourceRegistration(dataClass)
{
    public override async Task<bool> MatchesAsync(IServiceProvider services, CacheKey key, ReadOnlyMemory<byte> cached, ICacheSerializer serializer, CancellationToken cancellationToken)
    {
        T? current = await load(services, key, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return false; // the source has no such row: whatever is cached for it is stale
        }

        if (comparer is not null)
        {
            return comparer.Equals(serializer.Deserialize<T>(cached.Span), current);
        }

        var buffer = new ArrayBufferWriter<byte>(cached.Length + 16);
        serializer.Serialize(current, buffer);
        return buffer.WrittenSpan.SequenceEqual(cached.Span);
    }
}
