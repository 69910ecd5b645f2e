using System.Buffers.Text;
using System.Text;
using StackExchange.Redis;

namespace CacheInvalidation.Client;

/// <summary>
/// The start of every stored entry: the version stamp it was computed under — the values of its scope's version keys,
/// joined by '.' — then <see cref="Separator"/>. The key of an entry does not change with its versions; the stamp in its
/// value does, so a read compares it with the versions it read in the same atomic command, and the scripts compare it
/// with the versions they resolve (with <c>GETRANGE</c>, reading no more than the stamp).
/// </summary>
internal static class EntryStamp
{
    /// <summary>Ends the stamp. Versions are decimal integers, so it cannot occur inside one.</summary>
    public const char Separator = '|';

    private const int MaxLength = 512;

    /// <summary>The stored form of an entry: <paramref name="stamp"/>, the separator, then <paramref name="payload"/>.</summary>
    public static byte[] Prepend(string stamp, ReadOnlyMemory<byte> payload)
    {
        var entry = new byte[stamp.Length + 1 + payload.Length];
        int written = Encoding.ASCII.GetBytes(stamp, entry);
        entry[written] = (byte)Separator;
        payload.Span.CopyTo(entry.AsSpan(written + 1));
        return entry;
    }

    /// <summary>
    /// Splits a stored entry into its stamp and what follows, and says whether the stamp is exactly the versions read with
    /// it (<paramref name="versions"/>, all but the last element of an MGET); false for a missing version, another stamp
    /// or bytes that do not start with a stamp.
    /// </summary>
    public static bool MatchesVersions(ReadOnlyMemory<byte> entry, RedisValue[] versions, int versionCount, out ReadOnlyMemory<byte> payload)
    {
        payload = default;
        ReadOnlySpan<byte> span = entry.Span;
        int end = span[..Math.Min(span.Length, MaxLength)].IndexOf((byte)Separator);
        if (end <= 0)
        {
            return false;
        }

        ReadOnlySpan<byte> stamp = span[..end];
        for (int i = 0; i < versionCount; i++)
        {
            int dot = i == versionCount - 1 ? stamp.Length : stamp.IndexOf((byte)'.');
            if (dot <= 0
                || !versions[i].TryParse(out long expected)
                || !Utf8Parser.TryParse(stamp[..dot], out long actual, out int consumed)
                || consumed != dot
                || actual != expected)
            {
                return false;
            }

            stamp = i == versionCount - 1 ? [] : stamp[(dot + 1)..];
        }

        payload = entry[(end + 1)..];
        return true;
    }

    /// <summary>What follows the stamp of an entry a script returned after checking its stamp itself.</summary>
    public static ReadOnlyMemory<byte> PayloadOf(byte[] entry)
    {
        int end = entry.AsSpan(0, Math.Min(entry.Length, MaxLength)).IndexOf((byte)Separator);
        return end < 0 ? ReadOnlyMemory<byte>.Empty : entry.AsMemory(end + 1);
    }
}
