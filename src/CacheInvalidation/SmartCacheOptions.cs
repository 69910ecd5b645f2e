using CacheInvalidation.Policy;

namespace CacheInvalidation;

/// <summary>Options of <see cref="SmartCache"/>, validated at start-up.</summary>
public sealed class SmartCacheOptions
{
    /// <summary>
    /// A StackExchange.Redis configuration string (<c>localhost:6379</c>). Required unless an existing connection
    /// multiplexer is registered with <c>WithConnectionMultiplexer</c> on the builder.
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>The first part of every key, shared by all applications that share the cache; <c>:</c>-separated segments allowed.</summary>
    public string KeyPrefix { get; set; } = "cache";

    /// <summary>The tenant every key and every invalidation is scoped to.</summary>
    public string Tenant { get; set; } = "default";

    /// <summary>The TTL of entries that name neither a content type nor a data class.</summary>
    public TimeSpan DefaultTtl { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The jitter applied where a policy or entry sets none, as a fraction of the TTL: 0.1 draws the effective TTL
    /// from [0.9 × TTL, TTL]. 0 disables it; must be less than 1.
    /// </summary>
    public double JitterFraction { get; set; } = 0.1;

    /// <summary>
    /// How many copies of each version are kept, one per shard of the key space (1–1024). Entries spread over the shards'
    /// hash slots on a cluster; a version bump writes one key per shard. Every application sharing the key prefix must use
    /// the same value: the first write records it, and writes and invalidations of an application with another value
    /// throw <see cref="InvalidOperationException"/> (its loads are returned uncached). To change it, change
    /// <see cref="KeyPrefix"/> too.
    /// </summary>
    public int VersionShards { get; set; } = 16;

    /// <summary>
    /// The policy of each data class; it also decides how long an expired entry may be served stale. Seeded with:
    /// critical not cached; important 10 min (−1 min jitter), stale for at most 10 s; best-effort 1 h (−6 min), stale for
    /// at most 5 min. Entries that name no data class are treated as important.
    /// </summary>
    public IDictionary<DataClass, CachePolicy> Policies { get; } = new Dictionary<DataClass, CachePolicy>
    {
        [DataClass.Critical] = CachePolicy.NoCaching,
        [DataClass.Important] = CachePolicy.Ttl(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(1)).WithStaleBudget(TimeSpan.FromSeconds(10)),
        [DataClass.BestEffort] = CachePolicy.Ttl(TimeSpan.FromHours(1), TimeSpan.FromMinutes(6)).WithStaleBudget(TimeSpan.FromMinutes(5)),
    };

    /// <summary>The policy of each content type. Seeded with: static facts 24 h, documentation 6 h, user data 1 h, real-time 1–5 min.</summary>
    public IDictionary<ContentType, CachePolicy> ContentTypePolicies { get; } = new Dictionary<ContentType, CachePolicy>
    {
        [ContentType.StaticFacts] = CachePolicy.Ttl(TimeSpan.FromHours(24)),
        [ContentType.Documentation] = CachePolicy.Ttl(TimeSpan.FromHours(6)),
        [ContentType.UserData] = CachePolicy.Ttl(TimeSpan.FromHours(1)),
        [ContentType.RealTime] = CachePolicy.Ttl(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(4)),
    };

    /// <summary>
    /// How long the caller that misses holds the key's lease (its right to compute and write the value); the lease is
    /// extended while its factory runs. Others wait for its value meanwhile, at most this long, so a crashed owner delays
    /// them by at most this.
    /// </summary>
    public TimeSpan LeaseTime { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Probabilistic early refresh (XFetch, Vattani et al., VLDB 2015): a hit refreshes the entry in the background
    /// before it expires with a probability that grows as expiry nears and with how long the value took to compute.
    /// 0 (the default) turns it off; 1 is the paper's recommended value.
    /// </summary>
    public double EarlyRefreshBeta { get; set; }

    /// <summary>
    /// The kill switch, by configuration: while true, aggressive invalidation is suspended in this process — a namespace
    /// invalidation that would scan is done as its O(1) namespace-version bump (which invalidates at least as much; the
    /// old entries age out by their TTL) and tenant or global purges are refused with
    /// <see cref="AggressiveInvalidationSuspendedException"/>. Key, source, version and event invalidations and the
    /// no-stale-set checks keep working. Unlike the other options it is read at run time through
    /// <c>IOptionsMonitor</c> (when the cache comes from <c>AddSmartCache</c>), so a configuration reload flips it at once.
    /// To suspend it on every node of the prefix at once, use
    /// <see cref="ISmartCacheAdministration.SuspendAggressiveInvalidationAsync"/>.
    /// </summary>
    public bool SuspendAggressiveInvalidation { get; set; }

    /// <summary>The LRU configuration strategy: checks (and optionally sets) the server's memory limit and eviction policy.</summary>
    public MemoryPolicyOptions Memory { get; } = new();

    /// <summary>Soft read timeout and circuit breaker: how the cache behaves while Redis is slow or down.</summary>
    public CacheResilienceOptions Resilience { get; } = new();

    /// <summary>The in-process tier in front of Redis (on by default for data classes with a stale budget): see <see cref="LocalCacheOptions"/>.</summary>
    public LocalCacheOptions LocalCache { get; } = new();

    /// <summary>Orphan control (entries left under old versions): the thresholds and pace of the cleanup job added by <c>AddOrphanCleanup</c>.</summary>
    public OrphanCleanupOptions Orphans { get; } = new();

    /// <summary>Turns values into bytes and back; System.Text.Json by default.</summary>
    public ICacheSerializer Serializer { get; set; } = SystemTextJsonCacheSerializer.Default;
}
