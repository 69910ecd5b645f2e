using System.Buffers;

namespace CacheInvalidation;

/// <summary>Turns cached values into bytes and back. Implementations must be thread-safe.</summary>
public interface ICacheSerializer
{
    /// <summary>Writes <paramref name="value"/> to <paramref name="destination"/>.</summary>
    void Serialize<T>(T value, IBufferWriter<byte> destination);

    /// <summary>Reads a value written by <see cref="Serialize{T}"/>. Throws on data it cannot read; the cache then treats the entry as a miss.</summary>
    T Deserialize<T>(ReadOnlySpan<byte> source);
}
