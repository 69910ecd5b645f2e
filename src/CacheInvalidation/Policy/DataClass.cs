namespace CacheInvalidation.Policy;

/// <summary>
/// How much staleness a kind of data tolerates. The class decides whether an entry is cached at all and, through its
/// <see cref="CachePolicy"/>, how long it may live.
/// </summary>
public enum DataClass
{
    /// <summary>Seconds of staleness are acceptable (the default for entries that name no class).</summary>
    Important = 0,

    /// <summary>Minutes of staleness are acceptable.</summary>
    BestEffort = 1,

    /// <summary>No staleness is acceptable; by default such data is not cached at all.</summary>
    Critical = 2,
}
