namespace CacheInvalidation.Keys;

/// <summary>
/// Validates the parts that make up a cache key. Only a conservative set of characters is allowed so that
/// caller input can never act as a key separator (<c>:</c>), a hash tag (<c>{ }</c>) or a SCAN glob
/// (<c>* ? [ ] \</c>); anything else must go through <see cref="CacheKey.FromText(string, string)"/>, which hashes it.
/// </summary>
public static class KeyPart
{
    /// <summary>The longest allowed single key part (an id, a namespace segment, a tenant or a prefix segment).</summary>
    public const int MaxLength = 128;

    /// <summary>The most segments a hierarchical name (namespace or prefix) may have.</summary>
    public const int MaxDepth = 8;

    /// <summary>Returns whether <paramref name="c"/> may appear in a key part.</summary>
    public static bool IsAllowed(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
            or '-' or '_' or '.' or '@' or '+' or '=' or '/' or ',' or '~' or '!' or '$' or '%' or '&' or '(' or ')';

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming <paramref name="paramName"/> unless <paramref name="value"/> is a
    /// non-empty part of at most <see cref="MaxLength"/> allowed characters.
    /// </summary>
    /// <returns><paramref name="value"/>, for use in expressions.</returns>
    public static string Validate(string? value, string paramName)
    {
        ArgumentException.ThrowIfNullOrEmpty(value, paramName);
        if (value.Length > MaxLength)
        {
            throw new ArgumentException(
                $"A key part may be at most {MaxLength} characters long; this one has {value.Length}. Hash long free text with CacheKey.FromText.",
                paramName);
        }

        foreach (char c in value)
        {
            if (!IsAllowed(c))
            {
                throw new ArgumentException(
                    $"The key part '{Shorten(value)}' contains '{Printable(c)}', which is not allowed (separators, hash tags, glob characters, " +
                    "whitespace and non-ASCII characters are rejected). Allowed: letters, digits and - _ . @ + = / , ~ ! $ % & ( ). " +
                    "Hash free text with CacheKey.FromText.",
                    paramName);
            }
        }

        return value;
    }

    /// <summary>
    /// Validates a hierarchical name such as <c>docs:technical</c>: <c>:</c>-separated segments, each a valid part,
    /// at most <see cref="MaxDepth"/> of them.
    /// </summary>
    /// <returns>The segments, outermost first.</returns>
    public static string[] ValidateHierarchical(string? value, string paramName)
    {
        ArgumentException.ThrowIfNullOrEmpty(value, paramName);
        string[] segments = value.Split(':');
        if (segments.Length > MaxDepth)
        {
            throw new ArgumentException(
                $"'{Shorten(value)}' has {segments.Length} segments; at most {MaxDepth} are allowed.", paramName);
        }

        foreach (string segment in segments)
        {
            if (segment.Length == 0)
            {
                throw new ArgumentException($"'{Shorten(value)}' has an empty segment (leading, trailing or doubled ':').", paramName);
            }

            Validate(segment, paramName);
        }

        return segments;
    }

    private static string Shorten(string value) => value.Length <= 40 ? value : string.Concat(value.AsSpan(0, 40), "…");

    private static string Printable(char c) => char.IsControl(c) || char.IsWhiteSpace(c) ? $"U+{(int)c:X4}" : c.ToString();
}
