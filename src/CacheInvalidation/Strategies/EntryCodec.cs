using System.Buffers;
using System.Buffers.Binary;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using Microsoft.Extensions.Logging;

namespace CacheInvalidation.Strategies;

/// <summary>
/// The payload of a stored entry (what follows its stamp): a format byte, the time it stops being fresh (Unix ms,
/// <see cref="long.MaxValue"/> for never), how long its value took to compute (ms, for early refresh), then the
/// serializer's bytes. Anything else is corrupt, logged and counted, and read as a miss; a serializer that cannot
/// handle the type at all (<see cref="SerializerConfigurationException"/>) fails the call instead.
/// </summary>
internal sealed class EntryCodec(ICacheSerializer serializer, TimeProvider time, ILogger logger, CacheMetrics metrics)
{
    private const byte Format = 3;
    private const int HeaderSize = 1 + sizeof(long) + sizeof(int);

    /// <summary>Until when (Unix ms) a payload made by <see cref="Serialize{T}"/> is fresh.</summary>
    public static long FreshUntilOf(ReadOnlySpan<byte> payload) => BinaryPrimitives.ReadInt64LittleEndian(payload[1..]);

    /// <summary>Splits a payload into its freshness and the serializer's bytes; false when it is not one this codec made.</summary>
    public static bool TryReadValue(ReadOnlyMemory<byte> payload, out long freshUntilMs, out ReadOnlyMemory<byte> value)
    {
        bool ours = payload.Length >= HeaderSize && payload.Span[0] == Format;
        freshUntilMs = ours ? FreshUntilOf(payload.Span) : 0;
        value = ours ? payload[HeaderSize..] : default;
        return ours;
    }

    public ArrayBufferWriter<byte> Serialize<T>(T value, TtlDecision decision, int computeMs)
    {
        long freshUntilMs = decision.Ttl is { } ttl ? time.GetUtcNow().Add(ttl).ToUnixTimeMilliseconds() : long.MaxValue;
        var buffer = new ArrayBufferWriter<byte>(256);
        Span<byte> header = buffer.GetSpan(HeaderSize);
        header[0] = Format;
        BinaryPrimitives.WriteInt64LittleEndian(header[1..], freshUntilMs);
        BinaryPrimitives.WriteInt32LittleEndian(header[9..], computeMs);
        buffer.Advance(HeaderSize);
        serializer.Serialize(value, buffer);
        return buffer;
    }

    public bool TryDeserialize<T>(CacheKey key, ReadOnlyMemory<byte> payload, out T? value, out long freshUntilMs, out int computeMs)
    {
        value = default;
        freshUntilMs = 0;
        computeMs = 0;
        ReadOnlySpan<byte> bytes = payload.Span;
        Exception error;
        if (bytes.Length >= HeaderSize && bytes[0] == Format)
        {
            freshUntilMs = BinaryPrimitives.ReadInt64LittleEndian(bytes[1..]);
            computeMs = BinaryPrimitives.ReadInt32LittleEndian(bytes[9..]);
            try
            {
                value = serializer.Deserialize<T>(bytes[HeaderSize..]);
                return true;
            }
#pragma warning disable CA1031 // Any serializer failure means the entry is unusable; the caller must never see it.
            catch (Exception ex) when (ex is not SerializerConfigurationException) // that one is no corrupt entry: every entry of the type would be
#pragma warning restore CA1031
            {
                error = ex;
            }
        }
        else
        {
            error = new FormatException($"Not a cache entry of format {Format} ({bytes.Length} bytes).");
        }

        metrics.CorruptEntry();
        Log.CorruptEntry(logger, key.ToString(), typeof(T).Name, error);
        return false;
    }
}
