using System.Buffers;
using System.Buffers.Binary;

namespace CacheInvalidation;

/// <summary>
/// The bytes of a stored entry: a format byte, the time it stops being fresh (Unix ms, <see cref="long.MaxValue"/> for
/// never), how long its value took to compute (ms, for early refresh), then the serializer's bytes. Anything else is
/// corrupt and read as a miss.
/// </summary>
internal static class EntryEnvelope
{
    public const byte Format = 2;
    public const int HeaderSize = 1 + sizeof(long) + sizeof(int);

    public static void WriteHeader(IBufferWriter<byte> destination, long freshUntilMs, int computeMs)
    {
        Span<byte> header = destination.GetSpan(HeaderSize);
        header[0] = Format;
        BinaryPrimitives.WriteInt64LittleEndian(header[1..], freshUntilMs);
        BinaryPrimitives.WriteInt32LittleEndian(header[9..], computeMs);
        destination.Advance(HeaderSize);
    }

    public static bool TryReadHeader(byte[] bytes, out long freshUntilMs, out int computeMs)
    {
        if (bytes.Length < HeaderSize || bytes[0] != Format)
        {
            freshUntilMs = 0;
            computeMs = 0;
            return false;
        }

        freshUntilMs = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(1));
        computeMs = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(9));
        return true;
    }
}
