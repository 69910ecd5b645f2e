using CacheInvalidation.Policy;

namespace CacheInvalidation;

/// <summary>
/// Per-entry options. Everything is optional: by default the TTL comes from the content type's policy, else the data
/// class's policy, else <see cref="SmartCacheOptions.DefaultTtl"/>; jitter always applies unless set to zero.
/// </summary>
public sealed class CacheEntryOptions
{
    private readonly TimeSpan? _ttl;
    private readonly TimeSpan? _jitter;

    /// <summary>The data class: decides whether the entry is cached at all (critical data is not, by default) and its TTL when no content type is given.</summary>
    public DataClass? DataClass { get; init; }

    /// <summary>The content type, whose policy gives the TTL.</summary>
    public ContentType? ContentType { get; init; }

    /// <summary>An explicit TTL, overriding the policies' (the data class still decides whether to cache).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    public TimeSpan? Ttl
    {
        get => _ttl;
        init
        {
            if (value is { } ttl)
            {
                ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero, nameof(Ttl));
            }

            _ttl = value;
        }
    }

    /// <summary>How much shorter than <see cref="Ttl"/> the entry may randomly live; zero disables jitter for this entry.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public TimeSpan? Jitter
    {
        get => _jitter;
        init
        {
            if (value is { } jitter)
            {
                ArgumentOutOfRangeException.ThrowIfLessThan(jitter, TimeSpan.Zero, nameof(Jitter));
            }

            _jitter = value;
        }
    }

    /// <summary>An absolute expiration time, overriding any TTL (no jitter is applied). A time already past means the entry is not cached.</summary>
    public DateTimeOffset? AbsoluteExpiration { get; init; }

    /// <summary>
    /// The sources this entry is derived from (<c>product:42</c>, <c>seller:7</c>): invalidating any of them with
    /// <see cref="ICacheInvalidator.InvalidateSourceAsync"/> removes the entry. Each is a <c>:</c>-separated name of
    /// valid key parts. An entry with sources must have a TTL.
    /// </summary>
    public IReadOnlyList<string>? DependsOn { get; init; }

    /// <summary>Write the entry without any expiration. Must be asked for explicitly: no entry is written without a TTL otherwise.</summary>
    public bool NeverExpire { get; init; }
}
