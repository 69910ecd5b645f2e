using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Hybrid;

/// <summary>
/// How <see cref="Microsoft.Extensions.Caching.Hybrid.HybridCache"/> keys and tags, which may be any text, become cache
/// keys and dependency sources that are safe in Redis and still readable there. Text that is already safe is used as it
/// is; other text keeps its allowed characters, has the others replaced by <c>_</c>, is cut to a bounded length, and
/// ends with <c>~</c> and a hash of the whole original, so two different texts never map to the same name.
/// </summary>
/// <remarks>
/// Safe text never contains <c>~</c> (a text that does is treated as unsafe), and every altered name contains exactly
/// one <c>~</c>, followed by 128 bits of the SHA-256 of the original's UTF-16 code units: an unaltered name can never
/// equal an altered one, and two altered names are equal only if their originals' hashes are.
/// </remarks>
public static class HybridCacheKeys
{
    /// <summary>The namespace every HybridCache entry is stored under: <c>{prefix:tenant#s}:hybrid:key</c> in Redis.</summary>
    public const string Namespace = "hybrid";

    /// <summary>The tag that <c>RemoveByTagAsync</c> takes as "every entry"; it cannot be given to an entry.</summary>
    public const string WildcardTag = "*";

    /// <summary>Separates the readable part of an altered name from its hash; never part of a name used as it is.</summary>
    private const char HashMarker = '~';

    private const char Replacement = '_';

    /// <summary>128 bits of SHA-256 in lower-case hex: enough that no one can make two texts collide.</summary>
    private const int HashBytes = 16;

    /// <summary>How much of an altered text stays readable: the rest of a key part's length after the marker and the hash.</summary>
    private const int MaxReadableLength = KeyPart.MaxLength - 1 - (HashBytes * 2);

    /// <summary>How many altered names are remembered (up to a few MB); past it the memory starts over.</summary>
    private const int MaxRemembered = 4_096;

    /// <summary>Longer texts are hashed on every call rather than kept.</summary>
    private const int MaxRememberedLength = 256;

    /// <summary>
    /// Altered names already computed. Hashing costs more than a hit from memory, and a key such as <c>product:42</c>
    /// (the usual HybridCache shape, altered because of its ':') comes back on every read of that entry.
    /// </summary>
    private static readonly ConcurrentDictionary<string, string> s_altered = new(StringComparer.Ordinal);
    private static int s_remembered;

    /// <summary>
    /// The cache key a HybridCache key is stored under: in <see cref="Namespace"/>, with the key itself as id when it is
    /// at most <see cref="KeyPart.MaxLength"/> characters of those <see cref="KeyPart.IsAllowed"/> allows (and no <c>~</c>),
    /// else its altered form.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="key"/> is null or empty.</exception>
    public static CacheKey ToCacheKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return CacheKey.Create(Namespace, IsSafePart(key) ? key : Altered(key));
    }

    /// <summary>
    /// The dependency source a HybridCache tag stands for: the tag itself when it is a valid source name (what
    /// <see cref="ICacheInvalidator.InvalidateSourceAsync"/> accepts, e.g. <c>product:42</c>) without <c>~</c>, else its
    /// altered form. Tags share their names with the core API's sources on purpose: invalidating the source
    /// <c>product:42</c> (directly or by an event) removes the HybridCache entries tagged <c>product:42</c>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="tag"/> is null, empty or the wildcard <c>*</c>.</exception>
    public static string ToSource(string tag) => ToSource(tag, nameof(tag));

    /// <summary>As <see cref="ToSource(string)"/>, naming <paramref name="paramName"/> (a call's <c>tags</c>) when the tag is bad.</summary>
    internal static string ToSource(string tag, string paramName)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag, paramName);
        if (tag == WildcardTag)
        {
            throw new ArgumentException("The tag '*' is reserved: RemoveByTagAsync(\"*\") removes every entry, so no entry can carry it.", paramName);
        }

        return IsSafeSource(tag) ? tag : Altered(tag);
    }

    private static bool IsSafePart(string text)
    {
        if (text.Length > KeyPart.MaxLength)
        {
            return false;
        }

        foreach (char c in text)
        {
            if (c == HashMarker || !KeyPart.IsAllowed(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A valid hierarchical name: at most <see cref="KeyPart.MaxDepth"/> non-empty ':'-separated safe parts.</summary>
    private static bool IsSafeSource(string text)
    {
        int segments = 1;
        int segmentLength = 0;
        foreach (char c in text)
        {
            if (c == ':')
            {
                if (segmentLength == 0 || ++segments > KeyPart.MaxDepth)
                {
                    return false;
                }

                segmentLength = 0;
            }
            else if (c == HashMarker || !KeyPart.IsAllowed(c) || ++segmentLength > KeyPart.MaxLength)
            {
                return false;
            }
        }

        return segmentLength > 0;
    }

    private static string Altered(string text)
    {
        if (text.Length > MaxRememberedLength)
        {
            return ComputeAltered(text);
        }

        if (s_altered.TryGetValue(text, out string? known))
        {
            return known;
        }

        string name = ComputeAltered(text);
        if (Interlocked.Increment(ref s_remembered) > MaxRemembered)
        {
            // Keys that never repeat (ids of a long tail) must not grow it without bound; the hot ones come back at once.
            s_altered.Clear();
            Volatile.Write(ref s_remembered, 0);
        }

        s_altered.TryAdd(text, name);
        return name;
    }

    private static string ComputeAltered(string text)
    {
        // The UTF-16 code units, not UTF-8: encoding would map every lone surrogate to U+FFFD, and distinct keys together.
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(MemoryMarshal.AsBytes(text.AsSpan()), hash);
        int readable = Math.Min(text.Length, MaxReadableLength);
        Span<char> name = stackalloc char[readable + 1 + (HashBytes * 2)];
        for (int i = 0; i < readable; i++)
        {
            char c = text[i];
            name[i] = c != HashMarker && KeyPart.IsAllowed(c) ? c : Replacement;
        }

        name[readable] = HashMarker;
        for (int i = 0; i < HashBytes; i++)
        {
            name[readable + 1 + (2 * i)] = HexDigit(hash[i] >> 4);
            name[readable + 2 + (2 * i)] = HexDigit(hash[i] & 0xF);
        }

        return new string(name);
    }

    private static char HexDigit(int value) => (char)(value < 10 ? '0' + value : 'a' + value - 10);
}
