namespace CacheInvalidation.Policy;

/// <summary>What an entry holds, for choosing a TTL that fits how often such content changes.</summary>
public enum ContentType
{
    /// <summary>Facts that rarely change (country lists, product specifications): 24 h by default.</summary>
    StaticFacts = 0,

    /// <summary>Documentation and other edited content: 6 h by default.</summary>
    Documentation = 1,

    /// <summary>Data about one user (profile, preferences): 1 h by default.</summary>
    UserData = 2,

    /// <summary>Fast-moving data (stock levels, prices): 1–5 min by default.</summary>
    RealTime = 3,
}
